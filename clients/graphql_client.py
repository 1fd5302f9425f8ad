"""Switchboard's GraphQL adapter through the `gql` client, unmodified: log in, read with the
token, change things, and see a refusal come back as an error.

    SWITCHBOARD_URL=http://127.0.0.1:3000 SWITCHBOARD_ADMIN_PASSWORD=… python clients/graphql_client.py
"""

import os
import sys

from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.requests import RequestsHTTPTransport

URL = os.environ["SWITCHBOARD_URL"].rstrip("/") + "/graphql"


def client(headers=None):
    return Client(transport=RequestsHTTPTransport(url=URL, headers=headers or {}, timeout=10))


def main():
    anonymous = client()
    session = anonymous.execute(
        gql(
            "mutation($username: String!, $password: String!) {"
            "  login(username: $username, password: $password) { accessToken user { username role } }"
            "}"
        ),
        variable_values={"username": "admin", "password": os.environ["SWITCHBOARD_ADMIN_PASSWORD"]},
    )["login"]
    assert session["user"]["username"] == "admin", session
    admin = client({"Authorization": f"Bearer {session['accessToken']}"})

    me = admin.execute(gql("{ me { username role } }"))["me"]
    assert me["username"] == "admin", me

    channel = admin.execute(
        gql('mutation { createChannel(kind: "api", name: "gql client") { channel { id kind } signingSecret } }')
    )["createChannel"]
    assert channel["channel"]["kind"] == "api" and channel["signingSecret"], channel
    contact = admin.execute(gql('mutation { createContact(name: "Grace", phone: "+15550002222") { id } }'))[
        "createContact"
    ]
    conversation = admin.execute(
        gql("mutation($channel: ID!, $contact: ID!) { createConversation(channelId: $channel, contactId: $contact) { id } }"),
        variable_values={"channel": channel["channel"]["id"], "contact": contact["id"]},
    )["createConversation"]
    sent = admin.execute(
        gql('mutation($id: ID!) { sendMessage(conversationId: $id, text: "hello from gql") { seq text } }'),
        variable_values={"id": conversation["id"]},
    )["sendMessage"]
    assert sent["text"] == "hello from gql", sent

    page = admin.execute(
        gql(
            "query($id: ID!) { conversation(id: $id) { messages(pagination: { first: 10 }) {"
            " edges { node { text } } pageInfo { hasNextPage } } } }"
        ),
        variable_values={"id": conversation["id"]},
    )["conversation"]["messages"]
    assert [edge["node"]["text"] for edge in page["edges"]] == ["hello from gql"], page

    users = admin.execute(gql("query { users(pagination: { first: 10 }) { edges { node { id username } } } }"))
    assert any(edge["node"]["username"] == "admin" for edge in users["users"]["edges"]), users

    try:
        admin.execute(gql('{ conversation(id: "01a2496c-980e-7533-8a02-db0b0a08b9c0") { id } }'))
    except TransportQueryError as error:
        assert error.errors[0]["extensions"]["code"] == "not_found", error.errors
    else:
        raise AssertionError("an unknown conversation must be an error")

    print("gql client: login, queries, mutations and an error: ok")


if __name__ == "__main__":
    sys.exit(main())
