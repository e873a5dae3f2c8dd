from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from chat.bios import BIO_JOB, GATE, ai_gate
        from resilience.queue import gate_register, job_type_register

        job_type_register(BIO_JOB)
        gate_register(GATE, ai_gate)
