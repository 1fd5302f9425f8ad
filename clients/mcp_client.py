"""Switchboard's MCP endpoint through the official `mcp` Python SDK, unmodified, in both of its
connection modes: `auto` (the default: probes `server/discover`, then speaks 2026-07-28
statelessly) and `legacy` (initialize, then a session). Each lists the tools, calls `echo`,
`get_time`, `get_user_info`, `list_conversations` and `send_message`, reads the conversation
as a resource, and sees a failed tool and a bad call come back as errors. The SDK checks every
`structuredContent` against the tool's `outputSchema` as it goes.

    SWITCHBOARD_URL=http://127.0.0.1:3000 SWITCHBOARD_ADMIN_PASSWORD=… python clients/mcp_client.py
"""

import asyncio
import json
import os
import sys
import urllib.request

import httpx2
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

BASE = os.environ["SWITCHBOARD_URL"].rstrip("/")
UNKNOWN_CONVERSATION = "01a2496c-980e-7533-8a02-db0b0a08b9c0"


def rest(path, body, token=None):
    """POSTs `body` to the REST API; the JSON answer."""
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(BASE + path, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def conversation_to_work_on():
    """Logs in over REST and creates a conversation; the token and the conversation's id."""
    password = os.environ["SWITCHBOARD_ADMIN_PASSWORD"]
    token = rest("/auth/login", {"username": "admin", "password": password})["tokens"]["accessToken"]
    channel = rest("/api/v1/channels", {"kind": "api", "name": "mcp client"}, token)
    contact = rest("/api/v1/contacts", {"name": "Grace", "phone": "+15550003333"}, token)
    conversation = rest(
        "/api/v1/conversations", {"channelId": channel["id"], "contactId": contact["id"]}, token
    )
    return token, conversation["id"]


async def check(mode, version, token, conversation):
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=10)
    transport = streamable_http_client(f"{BASE}/mcp", http_client=http)
    async with http, Client(transport, mode=mode) as client:
        assert client.protocol_version == version, (mode, client.protocol_version)

        tools = [tool.name for tool in (await client.list_tools()).tools]
        for name in ["echo", "get_time", "get_user_info", "list_conversations", "send_message"]:
            assert name in tools, (name, tools)

        echoed = await client.call_tool("echo", {"text": f"hello over {mode}"})
        assert not echoed.is_error and echoed.structured_content == {"text": f"hello over {mode}"}, echoed
        now = await client.call_tool("get_time", {})
        assert now.structured_content["unix"] > 1_700_000_000, now
        me = await client.call_tool("get_user_info", {})
        assert me.structured_content["username"] == "admin", me
        assert me.structured_content["role"] == "platform-admin", me

        listed = await client.call_tool("list_conversations", {"limit": 50})
        ids = [item["id"] for item in listed.structured_content["conversations"]]
        assert conversation in ids, listed

        text = f"sent by the {mode} client"
        arguments = {"conversationId": conversation, "text": text, "idempotencyKey": mode}
        sent = await client.call_tool("send_message", arguments)
        assert sent.structured_content["message"]["text"] == text, sent
        again = await client.call_tool("send_message", arguments)
        assert again.structured_content["created"] is False, again
        assert again.structured_content["message"]["id"] == sent.structured_content["message"]["id"]

        transcript = await client.read_resource(f"conversation://{conversation}")
        assert text in transcript.contents[0].text, transcript

        failed = await client.call_tool("get_conversation", {"conversationId": UNKNOWN_CONVERSATION})
        assert failed.is_error and failed.structured_content is None, failed
        assert failed.content[0].text.startswith("not_found:"), failed
        try:
            await client.call_tool("get_conversation", {"conversationId": "not-an-id"})
        except MCPError as error:
            assert error.code == -32602, error
        else:
            raise AssertionError("arguments that do not fit the schema must be an error")
    print(f"mcp client ({mode}, {version}): tools, a resource and errors: ok")


async def main():
    token, conversation = conversation_to_work_on()
    await check("auto", "2026-07-28", token, conversation)
    await check("legacy", "2025-11-25", token, conversation)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
