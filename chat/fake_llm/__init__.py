"""A fake LLM server speaking the OpenAI Chat Completions and Anthropic Messages APIs, with faults
injected on demand, for development, demos and tests. Run it with `python -m chat.fake_llm`."""
from chat.fake_llm.faults import Fault, FaultError, FaultKind, FaultRegistry, Injection
from chat.fake_llm.server import FakeLLMServer, create_app, fault_header

__all__ = [
    "FakeLLMServer",
    "Fault",
    "FaultError",
    "FaultKind",
    "FaultRegistry",
    "Injection",
    "create_app",
    "fault_header",
]
