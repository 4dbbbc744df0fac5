from csc_pipeline.dashboard.views import team_page

team_page()
