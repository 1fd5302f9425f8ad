"""The official Python MCP SDK's own server with an `echo` tool equivalent to Switchboard's:
the peer `docs/benchmarks.md` measures Switchboard's MCP against.

`echo {text}` answers the same text, as structured content and a text block, like
Switchboard's. Streamable HTTP at `/mcp`, in the SDK's lightest configuration: stateless (no
session; 2026-07-28 requests are single exchanges anyway) and plain JSON answers (no SSE), one
uvicorn process, logging at WARNING (no access log). It takes no credentials.

Run it with the project's client venv (`mcp==2.3.0`, clients/requirements.txt):

    source scripts/python.sh && ensure_python_clients
    "$PYTHON" loadtest/peers/mcp_echo_server.py --port 8000 &
    target/release/switchboard loadtest --target http://127.0.0.1:8000 --scenario mcp \
        --vus 16 --duration 10s --server-pid $!
"""

import argparse

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel


class Echoed(BaseModel):
    text: str


server = MCPServer("python-sdk-echo", log_level="WARNING")


@server.tool(
    title="Echo",
    description="Answers the text it is given, unchanged.",
)
def echo(text: str) -> Echoed:
    return Echoed(text=text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    server.run(
        "streamable-http",
        host=args.host,
        port=args.port,
        json_response=True,
        stateless_http=True,
    )


if __name__ == "__main__":
    main()
