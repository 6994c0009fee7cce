#!/usr/bin/env python3
"""Drives moto's Athena API for the JDBCExecute Athena tests (boto3, the AWS SDK for Python).

    moto_athena.py ENDPOINT REGION setup [--workgroup NAME] [--hold]
    moto_athena.py ENDPOINT REGION executions

setup: creates the work group NAME (if given) and sets how moto's query executions move on:
each GetQueryExecution call moves a query one state on (QUEUED, RUNNING, SUCCEEDED), so a
client has to poll; with --hold they stay QUEUED until stopped. Prints {"ok": true}.

executions: prints {"executions": [...]}, every query execution moto received in REGION, in
the order started, each as {id, query, state, workGroup, outputLocation, catalog, database}.
"""
import json
import sys
import urllib.request

import boto3


def client(endpoint, region):
    return boto3.client(
        "athena",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="moto",
        aws_secret_access_key="moto",
    )


def setup(endpoint, region, args):
    if "--workgroup" in args:
        name = args[args.index("--workgroup") + 1]
        client(endpoint, region).create_work_group(Name=name, Configuration={})
    times = 10**9 if "--hold" in args else 1
    body = json.dumps(
        {"model_name": "athena::execution", "transition": {"progression": "manual", "times": times}}
    ).encode()
    request = urllib.request.Request(
        endpoint + "/moto-api/state-manager/set-transition", data=body, method="POST"
    )
    with urllib.request.urlopen(request) as response:
        assert response.status in (200, 201), response.status
    print(json.dumps({"ok": True}))


def executions(endpoint, region):
    athena = client(endpoint, region)
    ids = athena.list_query_executions()["QueryExecutionIds"]
    out = []
    for query_id in ids:
        e = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        context = e.get("QueryExecutionContext") or {}
        out.append(
            {
                "id": e["QueryExecutionId"],
                "query": e["Query"],
                "state": e["Status"]["State"],
                "workGroup": e.get("WorkGroup"),
                "outputLocation": (e.get("ResultConfiguration") or {}).get("OutputLocation"),
                "catalog": context.get("Catalog"),
                "database": context.get("Database"),
            }
        )
    print(json.dumps({"executions": out}))


def main():
    endpoint, region, command = sys.argv[1:4]
    if command == "setup":
        setup(endpoint, region, sys.argv[4:])
    elif command == "executions":
        executions(endpoint, region)
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
