from django.urls import path

from comptoir.accounts import views

app_name = "accounts"

urlpatterns = [
    path("compte/connexion/", views.login_view, name="login"),
    path("compte/deconnexion/", views.logout_view, name="logout"),
    path("compte/verification/", views.otp_verify, name="otp-verify"),
    path("compte/securite/", views.totp_setup, name="totp-setup"),
    path("compte/securite/desactiver/", views.totp_disable, name="totp-disable"),
    path("compte/mot-de-passe-oublie/", views.password_reset, name="password-reset"),
    path("compte/lien/<str:secret>/", views.setup_link, name="setup-link"),
    path("o/<slug:org>/utilisateurs/", views.members, name="members"),
    path("o/<slug:org>/utilisateurs/nouveau/", views.member_add, name="member-add"),
    path("o/<slug:org>/utilisateurs/<str:member_id>/", views.member_edit, name="member-edit"),
    path(
        "o/<slug:org>/utilisateurs/<str:member_id>/bloquer/",
        views.member_block,
        name="member-block",
    ),
    path(
        "o/<slug:org>/utilisateurs/<str:member_id>/debloquer/",
        views.member_unblock,
        name="member-unblock",
    ),
    path(
        "o/<slug:org>/utilisateurs/<str:member_id>/mot-de-passe/",
        views.member_password,
        name="member-password",
    ),
    path(
        "o/<slug:org>/utilisateurs/<str:member_id>/invitation/",
        views.member_invite,
        name="member-invite",
    ),
    path(
        "o/<slug:org>/utilisateurs/<str:member_id>/supprimer/",
        views.member_remove,
        name="member-remove",
    ),
    path(
        "o/<slug:org>/utilisateurs/<str:member_id>/certifications/",
        views.member_certification,
        name="member-certification",
    ),
    path(
        "o/<slug:org>/utilisateurs/<str:member_id>/certifications/<str:cert_id>/",
        views.member_certification,
        name="member-certification-edit",
    ),
    path("o/<slug:org>/jetons/", views.personal_tokens, name="tokens"),
    path("o/<slug:org>/jetons/<str:token_id>/revoquer/", views.token_revoke, name="token-revoke"),
]
