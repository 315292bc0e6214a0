#!/usr/bin/env python3
"""tools/check_layers.py on small trees: it must pass a tree that keeps its
rules, and name the file, the rule and the chain when one is broken, directly
or through another header."""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(os.path.dirname(HERE), "check_layers.py")

RULES = """# Architecture
```layers
core      -> core
kernels   -> core kernels
autograd  -> core autograd
kernels   !> core/api.h
```
"""


class CheckLayersTest(unittest.TestCase):
    def tree(self, files):
        d = tempfile.mkdtemp(prefix="dg_layers_")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", d]))
        files = dict(files, **{"docs/ARCHITECTURE.md": RULES})
        for path, text in files.items():
            os.makedirs(os.path.join(d, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(d, path), "w") as f:
                f.write(text)
        return d

    def run_check(self, d):
        return subprocess.run([sys.executable, CHECK, "--root", d], capture_output=True, text=True)

    def test_a_tree_that_keeps_the_rules_passes(self):
        d = self.tree({"core/base.h": "", "core/api.h": '#include "base.h"\n',
                       "kernels/k.cpp": '#include "core/base.h"\n', "autograd/a.cpp": '#include "core/api.h"\n'})
        r = self.run_check(d)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_a_direct_include_across_a_line_fails(self):
        d = self.tree({"core/base.h": '#include "autograd/a.h"\n', "autograd/a.h": ""})
        r = self.run_check(d)
        self.assertEqual(r.returncode, 1)
        self.assertIn("core/base.h: includes autograd/a.h (autograd), but core may only include core", r.stderr)

    def test_a_never_reached_through_another_header_fails_with_the_chain(self):
        d = self.tree({"core/base.h": "", "core/api.h": "", "core/utils.h": '#include "api.h"\n',
                       "kernels/k.cpp": '#include "core/utils.h"\n'})
        r = self.run_check(d)
        self.assertEqual(r.returncode, 1)
        self.assertIn("kernels/k.cpp: reaches core/api.h, which kernels must never do: "
                      "kernels/k.cpp -> core/utils.h -> core/api.h", r.stderr)

    def test_an_include_of_no_file_is_reported(self):
        d = self.tree({"core/base.h": '#include "missing.h"\n'})
        r = self.run_check(d)
        self.assertEqual(r.returncode, 1)
        self.assertIn('#include "missing.h" names no file', r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
