#!/usr/bin/env python3
"""Checks webhook deliveries with the Standard Webhooks reference library
(PyPI `standardwebhooks`), independently of the server's own code.

Input: a JSON file, a list of {"secret", "headers", "body"}. Output: a JSON
list of booleans, one per delivery (true: the library accepts it).
"""
import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

verdicts = []
for item in json.load(open(sys.argv[1])):
    try:
        Webhook(item["secret"]).verify(item["body"], item["headers"])
        verdicts.append(True)
    except WebhookVerificationError:
        verdicts.append(False)
print(json.dumps(verdicts))
