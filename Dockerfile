# csc-pipeline image: the official Airflow image plus the project's exact pins and code.
#
#   docker compose build          (docker-compose.yml builds this for every Airflow service)
#
# The code is copied in so that workers without the compose bind mounts (Celery workers
# on other hosts, Kubernetes pods) run exactly what was deployed; under compose the
# mounts of dags/, include/, dbt_project/, expectations/ and config/ shadow these copies, so a
# code change needs no rebuild there.
FROM apache/airflow:3.3.2-python3.11

# Airflow itself is already in the base image at the same version (requirements.txt
# pins apache-airflow==3.3.2), so this adds dbt, DuckDB, GX and the providers only.
COPY --chown=airflow:0 requirements.txt constraints.txt /opt/airflow/
RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt

COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 include/ /opt/airflow/include/
COPY --chown=airflow:0 dbt_project/ /opt/airflow/dbt_project/
COPY --chown=airflow:0 expectations/ /opt/airflow/expectations/
# example alert routing; a deployment mounts its own ./config over it
COPY --chown=airflow:0 config/ /opt/airflow/config/

# csc_pipeline is imported from include/ (config.PROJECT_ROOT resolves to /opt/airflow,
# so dbt_project/ and expectations/ are found beside it).
ENV PYTHONPATH=/opt/airflow/include \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False \
    DO_NOT_TRACK=1 \
    GX_ANALYTICS_ENABLED=False
