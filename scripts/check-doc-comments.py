#!/usr/bin/env python3
"""Lists the public types, initializers, methods, functions and subscripts without a `///`
doc comment in the given source folders (default: PDE, Learning, Support, Operators,
AppSupport). Exit code 1 when the list is not empty. `make test` runs it.

A declaration counts as documented when the line above it (attributes such as
`@discardableResult` skipped) is a `///` line or closes a `/** … */` block. Stored and
computed properties may stay bare when their names say it all; enum cases too."""
import os, re, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = ["Sources/PDE", "Sources/Learning", "Sources/Support", "Sources/Operators", "Sources/Apps/AppSupport"]
DECL = re.compile(r'^\s*(?:@[\w().: ,"]+\s+)*(?:public|open)\s+(?:(?:final|static|class|mutating|nonmutating|convenience|override|required|indirect|nonisolated|@\w+)\s+)*'
                  r'(class|struct|enum|protocol|actor|typealias|func|init[?!]?|subscript)\b')


def undocumented(path):
    out = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines):
        m = DECL.match(line)
        if not m:
            continue
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("@"):
            j -= 1
        prev = lines[j].strip() if j >= 0 else ""
        if prev.startswith("///") or prev.endswith("*/"):
            continue
        out.append((i + 1, line.strip()))
    return out


def main(folders):
    missing = []
    for folder in folders:
        for dp, _, fs in os.walk(os.path.join(ROOT, folder)):
            for f in sorted(fs):
                if f.endswith(".swift"):
                    p = os.path.join(dp, f)
                    missing += [(os.path.relpath(p, ROOT), n, text) for n, text in undocumented(p)]
    for path, n, text in sorted(missing):
        print(f"{path}:{n}: {text[:110]}")
    print(f"check-doc-comments: {len(missing)} public declarations without a doc comment")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or DEFAULT))
