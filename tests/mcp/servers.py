"""MCP servers for voicebox's tests, built on the official Python SDK (PyPI `mcp`, 2.x).

    servers.py stdio RECORD             a stdio server
    servers.py http RECORD TOKEN        a streamable-HTTP server at /mcp behind a Bearer token;
                                        prints "port N" on stdout once it listens
    (--json: HTTP answers as application/json instead of an event stream)

RECORD is a file that gets one JSON line per tool call: {"tool": ..., "arguments": {...}}, so
the tests can assert on what arrived. Tools:
    light_on {room}      "the ROOM light is on"  (HassTurnOn in spirit)
    set_volume {level}   collides with voicebox's built-in set_volume
    fail {}              an error result (isError)
    huge {megabytes}     a text result of that many megabytes
    hang {}              never answers
    die {}               the server exits mid-call
"""

import asyncio
import json
import os
import socket
import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError


def build(record: str) -> MCPServer:
    server = MCPServer("voicebox-test")

    def note(tool: str, **arguments) -> None:
        with open(record, "a", encoding="utf-8") as f:
            f.write(json.dumps({"tool": tool, "arguments": arguments}, ensure_ascii=False) + "\n")

    @server.tool(description="Turn on the light in a room, e.g. 客厅 (living room) or kitchen.")
    def light_on(room: str) -> str:
        note("light_on", room=room)
        return f"the {room} light is on"

    @server.tool(description="Set the speaker volume of the living room stereo.")
    def set_volume(level: int) -> str:
        note("set_volume", level=level)
        return f"stereo volume {level}"

    @server.tool(description="Always fails.")
    def fail() -> str:
        note("fail")
        # ToolError: its message reaches the client (other exceptions are hidden by the SDK).
        raise ToolError("the kitchen light is unreachable")

    @server.tool(description="Returns a very long text.")
    def huge(megabytes: int) -> str:
        note("huge", megabytes=megabytes)
        return "lorem ipsum " + "x" * (megabytes * 1_000_000)

    @server.tool(description="Never answers.")
    async def hang() -> str:
        note("hang")
        await asyncio.sleep(3600)
        return "late"

    @server.tool(description="Exits in the middle of the call.")
    def die() -> str:
        note("die")
        sys.stdout.flush()
        os._exit(3)

    return server


def bearer(app, token: str):
    """ASGI middleware: 401 unless `Authorization: Bearer TOKEN` (as Home Assistant does)."""

    async def guarded(scope, receive, send):
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            if headers.get(b"authorization", b"").decode() != f"Bearer {token}":
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"text/plain")]})
                await send({"type": "http.response.body", "body": b"401: Unauthorized"})
                return
        await app(scope, receive, send)

    return guarded


def main() -> None:
    mode, record = sys.argv[1], sys.argv[2]
    server = build(record)
    print("stderr line from the test server", file=sys.stderr, flush=True)
    if mode == "stdio":
        server.run("stdio")
        return
    import uvicorn

    token = sys.argv[3]
    app = bearer(server.streamable_http_app(json_response="--json" in sys.argv), token)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    # Listening before the port is printed: connections wait in the backlog until uvicorn runs.
    sock.listen(128)
    print(f"port {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == "__main__":
    main()
