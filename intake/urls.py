from django.urls import path

from intake import views

app_name = "intake"

urlpatterns = [
    path("", views.start, name="start"),
    path("accessibility/", views.accessibility_statement, name="accessibility"),
    path("privacy/", views.privacy_notice, name="privacy"),
    path("resume/<str:token>/", views.resume, name="resume"),
    path("session/extend/", views.session_extend, name="session_extend"),
    path("session/timed-out/", views.timed_out, name="timed_out"),
    path("<slug:form_type>/start/", views.journey_start, name="start_journey"),
    path("<slug:form_type>/<uuid:draft_key>/", views.journey, name="journey"),
    # Pages of a draft that are not wizard steps (their names are reserved in intake.steps).
    path("<slug:form_type>/<uuid:draft_key>/confirmation/", views.confirmation, name="confirmation"),
    path("<slug:form_type>/<uuid:draft_key>/save/", views.save_for_later, name="save"),
    path("<slug:form_type>/<uuid:draft_key>/saved/", views.saved, name="saved"),
    path("<slug:form_type>/<uuid:draft_key>/<slug:step>/", views.journey, name="journey_step"),
]
