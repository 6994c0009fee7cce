#!/usr/bin/env python3
"""ECS on a moto server, for the ECS run launcher tests of `weir serve`.

    moto_ecs.py ENDPOINT setup             creates cluster `weir-runs`, the Fargate task
                                           definition `weir-run` (container `weir`) and a VPC
                                           subnet + security group for the tasks; prints
                                           {"cluster", "task_definition", "subnet", "security_group"}
    moto_ecs.py ENDPOINT tasks CLUSTER     prints every task of CLUSTER, described:
                                           [{"arn", "status", "task_definition", "started_by",
                                             "environment": {name: value}, "container",
                                             "subnets", "security_groups", "stopped_reason"}]
    moto_ecs.py ENDPOINT stop CLUSTER ARN  stops a task as its container's end (exit code 0)
    moto_ecs.py ENDPOINT hold              from now on, tasks stay RUNNING until stopped
                                           (moto otherwise moves a task to STOPPED, exit code
                                           0, as it is described: moto runs no container)
"""
import json
import sys

import boto3


def client(endpoint):
    return boto3.client(
        "ecs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="moto",
        aws_secret_access_key="moto",
    )


def main():
    endpoint, command, *args = sys.argv[1:]
    ecs = client(endpoint)
    if command == "setup":
        cluster = ecs.create_cluster(clusterName="weir-runs")["cluster"]["clusterArn"]
        definition = ecs.register_task_definition(
            family="weir-run",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="1024",
            memory="4096",
            # moto sums the containers' memory and cpu: give them.
            containerDefinitions=[{"name": "weir", "image": "weir:test", "essential": True, "cpu": 1024, "memory": 4096}],
        )["taskDefinition"]["taskDefinitionArn"]
        # The task's network: moto places its ENI in a real (moto) subnet.
        ec2 = boto3.client(
            "ec2",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="moto",
            aws_secret_access_key="moto",
        )
        vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="weir-runs", Description="weir runs", VpcId=vpc)["GroupId"]
        print(
            json.dumps(
                {"cluster": cluster, "task_definition": definition, "subnet": subnet, "security_group": group}
            )
        )
    elif command == "tasks":
        (cluster,) = args
        arns = ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"]
        arns += ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"]
        out = []
        if arns:
            for t in ecs.describe_tasks(cluster=cluster, tasks=sorted(set(arns)))["tasks"]:
                overrides = (t.get("overrides") or {}).get("containerOverrides") or [{}]
                vpc = ((t.get("attachments") or [{}])[0].get("details") or [])
                out.append(
                    {
                        "arn": t["taskArn"],
                        "status": t.get("lastStatus"),
                        "task_definition": t.get("taskDefinitionArn"),
                        "started_by": t.get("startedBy"),
                        "container": overrides[0].get("name"),
                        "environment": {e["name"]: e["value"] for e in overrides[0].get("environment", [])},
                        "cpu": (t.get("overrides") or {}).get("cpu"),
                        "attachment_details": vpc,
                        "stopped_reason": t.get("stoppedReason"),
                    }
                )
        print(json.dumps(out))
    elif command == "stop":
        cluster, arn = args
        ecs.stop_task(cluster=cluster, task=arn, reason="Essential container in task exited")
        print("{}")
    elif command == "hold":
        import urllib.request

        body = json.dumps(
            {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1000000}}
        ).encode()
        request = urllib.request.Request(
            endpoint + "/moto-api/state-manager/set-transition", data=body, method="POST"
        )
        urllib.request.urlopen(request).read()
        print("{}")
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
