"""An agent's chat-completions endpoint through the official `openai` Python SDK, unmodified:
the client is pointed at `/v1/agents/{agentId}` with a Switchboard API key as its key, asks
once plainly and once streamed, and reads the same answer both ways; a wrong key is refused,
and a run the balance cannot pay is refused with 402 before any stream starts.

    SWITCHBOARD_URL=http://127.0.0.1:3000 SWITCHBOARD_ADMIN_PASSWORD=… python clients/openai_client.py
"""

import json
import os
import urllib.request

import openai
from openai import OpenAI

BASE = os.environ["SWITCHBOARD_URL"].rstrip("/")


def rest(path, body, token=None):
    """POSTs `body` to the REST API; the JSON answer."""
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(BASE + path, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def main():
    password = os.environ["SWITCHBOARD_ADMIN_PASSWORD"]
    token = rest("/auth/login", {"username": "admin", "password": password})["tokens"]["accessToken"]
    rest("/api/v1/credits/grants", {"amount": 10, "reason": "client check", "idempotencyKey": "openai-client"}, token)
    agent = rest("/api/v1/agents", {"name": "voice brain", "kind": "echo"}, token)["id"]
    key = rest("/api/v1/api-keys", {"name": "voice pipeline"}, token)["key"]
    client = OpenAI(base_url=f"{BASE}/v1/agents/{agent}", api_key=key, max_retries=0)
    messages = [
        {"role": "system", "content": "You are a phone agent."},
        {"role": "user", "content": "Please renew my plan"},
    ]

    answer = client.chat.completions.create(model="switchboard", messages=messages)
    assert answer.object == "chat.completion", answer
    assert answer.choices[0].message.content == "Please renew my plan", answer
    assert answer.choices[0].finish_reason == "stop", answer

    pieces = []
    finish = None
    for chunk in client.chat.completions.create(model="switchboard", messages=messages, stream=True):
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    assert "".join(pieces) == "Please renew my plan", pieces
    assert finish == "stop", finish

    refused = OpenAI(base_url=f"{BASE}/v1/agents/{agent}", api_key="sb_wrong_key", max_retries=0)
    try:
        refused.chat.completions.create(model="switchboard", messages=messages)
    except openai.AuthenticationError:
        pass
    else:
        raise AssertionError("a wrong key was accepted")
    dear = rest("/api/v1/agents", {"name": "dear", "kind": "echo", "costPerRun": 1000}, token)["id"]
    unpaid = OpenAI(base_url=f"{BASE}/v1/agents/{dear}", api_key=key, max_retries=0)
    for stream in (False, True):
        try:
            unpaid.chat.completions.create(model="switchboard", messages=messages, stream=stream)
        except openai.APIStatusError as refusal:
            assert refusal.status_code == 402, refusal
        else:
            raise AssertionError(f"a run the balance cannot pay was answered (stream={stream})")
    print("openai client: a plain and a streamed completion; a wrong key and an unpaid run refused: ok")


if __name__ == "__main__":
    main()
