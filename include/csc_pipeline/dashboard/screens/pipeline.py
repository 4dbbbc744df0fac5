from csc_pipeline.dashboard.views import pipeline

pipeline()
