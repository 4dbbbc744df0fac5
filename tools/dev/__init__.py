"""Developer tools that are not part of the runtime package (like csc_generator)."""
