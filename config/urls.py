from django.contrib import admin
from django.urls import include, path

# GOV.UK error pages rendered without the request (Django's default 400 and 500 views pass no context);
# 403 and 404 use Django's handlers with templates/403.html and 404.html.
handler400 = "intake.views.bad_request"
handler500 = "intake.views.server_error"

urlpatterns = [
    # settings.LOGIN_URL; the admin's staff-only login until two-factor sign-in arrives.
    path("staff/login/", admin.site.login, name="staff_login"),
    path("staff/admin/", admin.site.urls),
    path("", include("intake.urls")),
]
