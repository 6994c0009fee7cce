#!/usr/bin/env python3
"""Generates SCD Type 2 contact data: an initial load and an incremental update.

The update holds every initial id (a fixed share of them with a changed state, email or
name) plus a share of new ids, the shape of the workshop data. Deterministic for a seed.

    gen_contacts.py OUT_DIR --rows N [--changed K] [--new M] [--seed S]

Writes OUT_DIR/initial_contacts.csv and OUT_DIR/update_contacts.csv (no header:
id,name,email,state) and prints the expected result: total and expired row counts.
"""
import argparse
import os
import random

FIRST = ["Ava", "Liam", "Mia", "Noah", "Zoe", "Omar", "Iza", "Jamil", "Kai", "Lena", "Ravi", "Sofia",
         "Theo", "Uma", "Vera", "Wes", "Yuki", "Zane", "Ines", "Hugo"]
LAST = ["Gerhold", "Goyette", "Tromp", "Gerlach", "Stroman", "Okafor", "Silva", "Nakamura", "Berg",
        "Dubois", "Kowalski", "Haddad", "Moreau", "Quinn", "Rossi", "Singh", "Tanaka", "Varga"]
DOMAINS = ["example.com", "example.org", "example.net", "mail.test"]
STATES = ["NJ", "VI", "MP", "MI", "CA", "NY", "TX", "WA", "OR", "FL", "GA", "IL", "MA", "CO", "AZ"]


def contact(rng, i):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    email = f"{first.lower()}.{last.lower()}{i}@{rng.choice(DOMAINS)}"
    return [str(i), f"{first} {last}", email, rng.choice(STATES)]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--changed", type=int, help="ids whose attributes change (default 8%%)")
    p.add_argument("--new", type=int, help="new ids in the update (default 10%%)")
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    changed = a.changed if a.changed is not None else a.rows * 8 // 100
    new = a.new if a.new is not None else a.rows // 10
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    change_ids = set(rng.sample(range(1, a.rows + 1), changed))
    with open(os.path.join(a.out, "initial_contacts.csv"), "w") as initial, \
         open(os.path.join(a.out, "update_contacts.csv"), "w") as update:
        for i in range(1, a.rows + 1):
            row = contact(rng, i)
            initial.write(",".join(row) + "\n")
            if i in change_ids:
                new_state = rng.choice([s for s in STATES if s != row[3]])
                row = row[:3] + [new_state]
            update.write(",".join(row) + "\n")
        for i in range(a.rows + 1, a.rows + new + 1):
            update.write(",".join(contact(rng, i)) + "\n")
    print(f"expected: total={a.rows + changed + new} expired={changed}")


if __name__ == "__main__":
    main()
