"""Fictional councils and people.

Every name the generator writes comes from these short invented lists, so a sample
export can never contain (or be mistaken for) a real child's or worker's name, and a
test can prove it by checking names against the lists.
"""

from __future__ import annotations

from dataclasses import dataclass

# Invented given names and family names: not taken from any register of real people.
FORENAMES: tuple[str, ...] = (
    "Arlen", "Brisk", "Calloway", "Dimble", "Elowen", "Farrow", "Gilly", "Hollin",
    "Isbel", "Jory", "Kestra", "Lumen", "Marrow", "Nettle", "Orrin", "Pipkin",
    "Quill", "Rushen", "Sorrel", "Tamsin", "Umber", "Vesper", "Wren", "Yarrow",
    "Zephyr", "Bramble", "Corvin", "Dapple", "Ember", "Fennick", "Glimmer", "Hazelby",
)  # fmt: skip
SURNAMES: tuple[str, ...] = (
    "Ashcombe", "Bracklewood", "Cindermoor", "Dunhollow", "Eversett", "Fallowmere",
    "Gorsebrook", "Hartledge", "Ivybridge", "Juniperfold", "Kettlewhite", "Larkspurn",
    "Millbarrow", "Nethercott", "Oakhurst", "Pebbleford", "Quarrystone", "Rookwell",
    "Saltmarsh", "Thistlewood", "Underhill", "Vetchley", "Willowmere", "Yewbarrow",
)  # fmt: skip


@dataclass(frozen=True)
class Council:
    """A fictional local authority and the case system its export comes from."""

    la_code: str
    la_name: str
    source_system: str
    person_id_prefix: str  # case systems differ in how person ids look


COUNCILS: tuple[Council, ...] = (
    Council("999", "Northbridge", "Mosaic", ""),
    Council("998", "Eastmoor", "LiquidLogic LCS", "C"),
    Council("997", "Westvale", "Eclipse", "EC"),
    Council("996", "Southwick Downs", "CareDirector", "CD"),
    Council("995", "Lowmarsh", "Azeus", "AZ"),
    Council("994", "Highfold", "Mosaic", ""),
    Council("993", "Crestwater", "LiquidLogic LCS", "C"),
    Council("992", "Brackenby", "Eclipse", "EC"),
)
COUNCILS_BY_CODE: dict[str, Council] = {c.la_code: c for c in COUNCILS}


def council(la_code: str) -> Council:
    """The fictional council with this code (codes outside the list get a made-up name)."""
    if la_code in COUNCILS_BY_CODE:
        return COUNCILS_BY_CODE[la_code]
    return Council(la_code, f"Sample Council {la_code}", "Mosaic", "")


def council_codes(count: int) -> tuple[str, ...]:
    """The first `count` sample council codes: 999, 998, 997..."""
    if not 1 <= count <= 99:
        raise ValueError("between 1 and 99 councils")
    return tuple(str(999 - i) for i in range(count))
