from csc_pipeline.dashboard.views import data_quality

data_quality()
