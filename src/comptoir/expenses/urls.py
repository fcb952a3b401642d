from django.urls import path

from comptoir.expenses import views

app_name = "expenses"

P = "o/<slug:org>/complements/"
R = f"{P}justificatifs/"
K = f"{P}frais-kilometriques/"
urlpatterns = [
    path(R, views.receipt_list, name="receipts"),
    path(f"{R}nouveau/", views.receipt_create, name="receipt-create"),
    path(f"{R}categories/", views.category_list, name="categories"),
    path(f"{R}categories/ajouter/", views.category_add, name="category-add"),
    path(f"{R}categories/<slug:code>/", views.category_edit, name="category-edit"),
    path(f"{R}<str:receipt_id>/", views.receipt_detail, name="receipt"),
    path(f"{R}<str:receipt_id>/modifier/", views.receipt_edit, name="receipt-edit"),
    path(f"{R}<str:receipt_id>/annuler/", views.receipt_cancel, name="receipt-cancel"),
    path(f"{R}<str:receipt_id>/fichier/", views.receipt_file, name="receipt-file"),
    path(K, views.trip_list, name="trips"),
    path(f"{K}nouveau/", views.trip_create, name="trip-create"),
    path(f"{K}bareme/", views.scale_page, name="scale"),
    path(f"{K}vehicules/", views.vehicle_list, name="vehicles"),
    path(f"{K}vehicules/nouveau/", views.vehicle_create, name="vehicle-create"),
    path(f"{K}vehicules/<str:vehicle_id>/", views.vehicle_edit, name="vehicle-edit"),
    path(f"{K}<str:trip_id>/modifier/", views.trip_edit, name="trip-edit"),
    path(f"{K}<str:trip_id>/annuler/", views.trip_cancel, name="trip-cancel"),
    path(f"{P}etats/", views.statement_page, name="statement"),
    path(f"{P}etats/export/", views.statement_export, name="statement-export"),
]
