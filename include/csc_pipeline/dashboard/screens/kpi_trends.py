from csc_pipeline.dashboard.views import kpi_trends

kpi_trends()
