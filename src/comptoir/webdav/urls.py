from django.urls import re_path

from comptoir.webdav import views

app_name = "webdav"

# Every method and every path below /dav/ (with or without a trailing slash).
urlpatterns = [re_path(r"^dav(?:/[\s\S]*)?\Z", views.dav, name="dav")]
