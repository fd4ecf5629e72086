"""What a workspace needs to build mmapio, offline.

    local_repository(name = "mmapio", path = "...")  # or http_archive
    load("@mmapio//:deps.bzl", "mmapio_dependencies")
    mmapio_dependencies()

Declares, unless the workspace already has them: small stand-ins for the
rule repositories Bazel 4 would download (rules_cc, rules_java,
remote_coverage_tools), and Abseil, GoogleTest, Google Benchmark and
liburing bound to the libraries Debian installs (tools/install_deps.sh
installs them). The repository must be named "mmapio". mmapio's headers are
C++20: build with --cxxopt=-std=c++20 (one .bazelrc line).
"""

load("//third_party:debian_deps.bzl", "debian_dependencies")

def _stand_in_impl(ctx):
    # The directory is inside mmapio's own repository; link its files.
    root = ctx.path(Label("//:WORKSPACE")).dirname
    source = root.get_child("third_party").get_child(ctx.attr.directory)
    for child in source.readdir():
        ctx.symlink(child, child.basename)

_stand_in = repository_rule(
    implementation = _stand_in_impl,
    attrs = {"directory": attr.string(mandatory = True)},
    local = True,
)

def mmapio_dependencies():
    """Declares mmapio's dependencies that the workspace does not have yet."""
    existing = native.existing_rules()
    for name in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        if name not in existing:
            _stand_in(name = name, directory = name)
    debian_dependencies()
