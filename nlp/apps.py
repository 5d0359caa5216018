from django.apps import AppConfig


class NlpConfig(AppConfig):
    name = "nlp"
    verbose_name = "Themes and matching"
