#!/usr/bin/env python3
"""moto's server (the `moto_server` command) with the shims the deploy tests need.

    python tests/deploy/moto_server.py -H 127.0.0.1 -p PORT      (same arguments as moto_server)

Also the server of the ECS launcher tests of `weir serve` (crates/weir-cli, MotoServer::start_for_ecs).

moto 5.2.5 gaps that valid requests run into, patched here rather than bent around:
  - `!Ref` of an AWS::RDS::DBParameterGroup hands the model object, not its name, to the
    DB instance (the model has no physical_resource_id), and the stack fails with a 500.
  - ECS RunTask with awsvpc networking reads `private_dns_name` of the task's network
    interface, which moto's EC2 model lacks (a 500); it is derived from the private IP, as
    EC2 names it.
"""
import sys

from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.rds.models import DBParameterGroup


def apply_shims() -> None:
    if "physical_resource_id" not in DBParameterGroup.__dict__:
        DBParameterGroup.physical_resource_id = property(lambda self: self.name)
    if not hasattr(NetworkInterface, "private_dns_name"):
        NetworkInterface.private_dns_name = property(
            lambda self: "ip-" + str(self.private_ip_address).replace(".", "-") + ".ec2.internal"
        )


if __name__ == "__main__":
    apply_shims()
    from moto.server import main

    sys.exit(main())
