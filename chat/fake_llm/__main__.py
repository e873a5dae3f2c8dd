"""`python -m chat.fake_llm [--host 127.0.0.1] [--port 8090]`: the fake LLM server in the foreground."""
from __future__ import annotations

import argparse

from aiohttp import web

from chat.fake_llm.server import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m chat.fake_llm", description="The fake LLM server, in the foreground.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    arguments = parser.parse_args()
    base_url = f"http://{arguments.host}:{arguments.port}"
    print(f"Fake LLM server on {base_url} (Ctrl-C to stop). Point the product at it with:", flush=True)
    print(f"  OPENAI_BASE_URL={base_url}/openai/v1")
    print(f"  ANTHROPIC_BASE_URL={base_url}/anthropic")
    print(f"  LOCAL_LLM_BASE_URL={base_url}/local/v1")
    print(f"Faults: POST {base_url}/_fake/faults, e.g. {{\"target\": \"openai\", \"kind\": \"status\", \"code\": 429}}",
          flush=True)
    # A short shutdown: Ctrl-C should not wait for slow streams to finish.
    web.run_app(create_app(), host=arguments.host, port=arguments.port, print=None, shutdown_timeout=1.0)


if __name__ == "__main__":
    main()
