from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from chat.bios import BIO_JOB, GATE, TRANSLATION_JOB, ai_gate
        from chat.groups import presskit_push
        from presskit.signals import presskit_changed
        from resilience.queue import gate_register, job_type_register

        job_type_register(BIO_JOB)
        job_type_register(TRANSLATION_JOB)
        gate_register(GATE, ai_gate)
        presskit_changed.connect(presskit_push, dispatch_uid="chat.presskit_push")
