"""A binary built for the machine that runs the build, as a test's data.

A Windows test under Wine (--config=mingw) can start Linux programs; this
gives it one of ours, such as the FUSE filesystem of the fault tests,
built for Linux while the test itself is built for Windows.
"""

def _exec_binary_impl(ctx):
    binary = ctx.attr.binary
    return [DefaultInfo(
        files = binary[DefaultInfo].files,
        runfiles = ctx.runfiles(files = [ctx.executable.binary]).merge(
            binary[DefaultInfo].default_runfiles,
        ),
    )]

exec_binary = rule(
    implementation = _exec_binary_impl,
    attrs = {
        "binary": attr.label(cfg = "exec", executable = True, mandatory = True),
    },
)
