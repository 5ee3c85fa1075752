"""Writes a manifest of N recipients (default 100,000) for the validate benchmark.

Usage: python3 benches/gen_manifest.py OUT.yaml [N]
"""

import random
import sys

FIRST = ["Awa", "Aya", "Adjoua", "Akissi", "Mariam", "Yao", "Kouassi", "Kouadio", "Koffi", "Seydou"]
LAST = ["Koné", "Kouassi", "Traoré", "Ouattara", "Coulibaly", "Bamba", "Touré", "N'Guessan", "Yapo"]


def main() -> None:
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    rng = random.Random(7)
    lines = [
        "# yaml-language-server: $schema=../schemas/manifest.schema.json",
        "version: 1",
        "job: big-salaries",
        'period: "2026-12"',
        'reference: "sal-{{period}}-{{id}}"',
        'description: "Salaire {{period}} {{vars.company}}"',
        "vars:",
        '  company: "Acme CI & Fils"',
        "recipients:",
    ]
    for index in range(count):
        prefix = ("01", "05", "07")[index % 3]
        # Subscriber numbers from 1000000 up stay clear of the sandbox's reserved 0700000100..299.
        msisdn = f"225{prefix}{10_000_000 + index:08d}"
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        lines.append(f"  - id: E{index:06d}")
        lines.append(f'    name: "{name}"')
        lines.append(f'    msisdn: "{msisdn}"')
        lines.append(f"    amount: {rng.randrange(5, 500) * 1000}")
    with open(out, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
