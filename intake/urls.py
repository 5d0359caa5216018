from django.urls import path

from intake import views

app_name = "intake"

urlpatterns = [
    path("", views.start, name="start"),
    path("accessibility/", views.accessibility_statement, name="accessibility"),
    path("privacy/", views.privacy_notice, name="privacy"),
    path("<slug:form_type>/start/", views.journey_start, name="start_journey"),
    path("<slug:form_type>/<uuid:draft_key>/", views.journey, name="journey"),
    path("<slug:form_type>/<uuid:draft_key>/<slug:step>/", views.journey, name="journey_step"),
]
