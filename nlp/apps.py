from django.apps import AppConfig


class NlpConfig(AppConfig):
    name = "nlp"
    verbose_name = "Themes and matching"

    def ready(self) -> None:
        from nlp import receivers  # noqa: F401  (connects signal receivers)
