"""Switchboard's GraphQL subscriptions through the `gql` client, unmodified, over
`graphql-transport-ws`: follow the tenant's stream, see the event a signed webhook produces, then
reconnect and resume the conversation's stream with `since`, getting exactly what came while away.

    SWITCHBOARD_URL=http://127.0.0.1:3000 SWITCHBOARD_ADMIN_PASSWORD=… python clients/graphql_subscription.py
"""

import asyncio
import hashlib
import hmac
import json
import os
import sys
import time

import requests
from gql import Client, gql
from gql.transport.requests import RequestsHTTPTransport
from gql.transport.websockets import WebsocketsTransport

BASE = os.environ["SWITCHBOARD_URL"].rstrip("/")
HTTP_URL = BASE + "/graphql"
WS_URL = HTTP_URL.replace("http", "ws", 1)
ITEM = "kind stream epoch offset recovered event"


def log_in():
    anonymous = Client(transport=RequestsHTTPTransport(url=HTTP_URL, timeout=10))
    session = anonymous.execute(
        gql("mutation($p: String!) { login(username: \"admin\", password: $p) { accessToken } }"),
        variable_values={"p": os.environ["SWITCHBOARD_ADMIN_PASSWORD"]},
    )
    return session["login"]["accessToken"]


def api_channel(token):
    http = Client(
        transport=RequestsHTTPTransport(url=HTTP_URL, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    )
    created = http.execute(
        gql('mutation { createChannel(kind: "api", name: "gql subscriptions") { channel { id } signingSecret } }')
    )["createChannel"]
    return created["channel"]["id"], created["signingSecret"]


def deliver(channel_id, secret, message_id, text):
    """A message from an app user, through the API channel's signed webhook."""
    body = json.dumps({"messageId": message_id, "from": {"id": "gql-user"}, "text": text}).encode()
    stamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    reply = requests.post(
        f"{BASE}/webhooks/api/{channel_id}",
        data=body,
        headers={"Content-Type": "application/json", "X-Switchboard-Signature": f"t={stamp},v1={signature}"},
        timeout=10,
    )
    assert reply.status_code == 200, (reply.status_code, reply.text)


def wait_stored(token, conversation_id, text):
    """Waits until `text` is a message of the conversation: a webhook's 200 means accepted, and
    the message (with its stream event) is stored a moment later."""
    for _ in range(200):
        reply = requests.get(
            f"{BASE}/api/v1/conversations/{conversation_id}/messages",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        if any(message.get("text") == text for message in reply.json().get("data", [])):
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} was never stored")


def transport(token):
    return WebsocketsTransport(
        url=WS_URL,
        init_payload={"token": token},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )


async def main():
    token = log_in()
    channel_id, secret = api_channel(token)

    async with Client(transport=transport(token), fetch_schema_from_transport=False) as session:
        items = session.subscribe(gql(f"subscription {{ tenantEvents {{ {ITEM} }} }}"))
        first = await asyncio.wait_for(items.__anext__(), 10)
        assert first["tenantEvents"]["kind"] == "SUBSCRIBED", first
        deliver(channel_id, secret, "gql-1", "first over the webhook")
        while True:
            item = (await asyncio.wait_for(items.__anext__(), 10))["tenantEvents"]
            copied = item["event"]
            if copied["event"]["type"] == "message_created":
                break
        assert copied["event"]["message"]["text"] == "first over the webhook", item
        conversation_stream, seen = copied["stream"], copied["offset"]
        await items.aclose()

    # Away: this message arrives while nobody follows.
    deliver(channel_id, secret, "gql-2", "second, while away")
    conversation_id = conversation_stream.split(":", 1)[1]
    wait_stored(token, conversation_id, "second, while away")
    query = gql(
        "subscription($id: ID!, $since: StreamPosition) {"
        f" conversationEvents(conversationId: $id, since: $since) {{ {ITEM} }} }}"
    )
    since = {"epoch": "durable", "offset": seen}
    async with Client(transport=transport(token), fetch_schema_from_transport=False) as session:
        items = session.subscribe(query, variable_values={"id": conversation_id, "since": since})
        subscribed = (await asyncio.wait_for(items.__anext__(), 10))["conversationEvents"]
        assert subscribed["kind"] == "SUBSCRIBED" and subscribed["recovered"], subscribed
        missed = []
        while len(missed) < subscribed["offset"] - seen:
            missed.append((await asyncio.wait_for(items.__anext__(), 10))["conversationEvents"])
        await items.aclose()
    assert [item["offset"] for item in missed] == list(range(seen + 1, subscribed["offset"] + 1)), missed
    texts = [item["event"]["message"]["text"] for item in missed if item["event"]["type"] == "message_created"]
    assert texts == ["second, while away"], missed

    print("gql client: a graphql-transport-ws subscription saw a webhook's event and resumed with since: ok")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
