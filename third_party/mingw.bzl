"""@mingw_toolchain: the mingw-w64 C++ toolchain and the Windows builds of
Abseil and GoogleTest it links, made by tools/mingw_deps.sh.

Used only by builds for Windows (--config=mingw). The rule installs and
builds nothing: where tools/mingw_deps.sh has not built the libraries yet
(tools/windows_test.sh runs it), loading the repository fails and says so.
"""

def _archives(ctx, lib, prefix):
    names = []
    for entry in ctx.path(lib).readdir():
        name = entry.basename
        if name.startswith(prefix) and name.endswith(".a"):
            names.append(name)
    return sorted(names)

def _mingw_toolchain_impl(ctx):
    script = ctx.path(Label("//tools:mingw_deps.sh"))
    result = ctx.execute(["bash", str(script), "--prefix"])
    if result.return_code != 0:
        ctx.file("BUILD.bazel", 'fail("The Windows build needs Abseil and GoogleTest built for ' +
                                'mingw-w64: run bash tools/mingw_deps.sh (or bash tools/windows_test.sh) first")\n')
        return
    prefix = result.stdout.strip().splitlines()[-1]
    lib = prefix + "/lib"
    absl = _archives(ctx, lib, "libabsl_")
    if not absl:
        fail("no libabsl_*.a in " + lib)
    ctx.file("BUILD.bazel", """
load("@mmapio//third_party/mingw:cc_toolchain_config.bzl", "mingw_cc_toolchain_config")

package(default_visibility = ["//visibility:public"])

filegroup(name = "empty")

mingw_cc_toolchain_config(
    name = "config",
    deps_prefix = {prefix},
)

cc_toolchain(
    name = "cc_toolchain",
    all_files = ":empty",
    ar_files = ":empty",
    as_files = ":empty",
    compiler_files = ":empty",
    dwp_files = ":empty",
    linker_files = ":empty",
    objcopy_files = ":empty",
    strip_files = ":empty",
    supports_param_files = 0,
    toolchain_config = ":config",
    toolchain_identifier = "mingw-w64-x86_64",
)

# For toolchain resolution, which --platforms turns on for rules that ask
# for a C++ toolchain by type.
toolchain(
    name = "cc_toolchain_windows",
    exec_compatible_with = [
        "@platforms//cpu:x86_64",
        "@platforms//os:linux",
    ],
    target_compatible_with = [
        "@platforms//cpu:x86_64",
        "@platforms//os:windows",
    ],
    toolchain = ":cc_toolchain",
    toolchain_type = "@bazel_tools//tools/cpp:toolchain_type",
)

cc_toolchain_suite(
    name = "toolchain",
    toolchains = {{
        "x64_windows": ":cc_toolchain",
        "x64_windows|mingw-gcc": ":cc_toolchain",
    }},
)

cc_library(
    name = "abseil",
    linkopts = {absl},
)

cc_library(
    name = "gtest",
    linkopts = ["-lgmock", "-lgtest"],
)

cc_library(
    name = "gtest_main",
    linkopts = ["-lgtest_main", "-lgmock", "-lgtest"],
)
""".format(
        prefix = repr(prefix),
        absl = repr(["-Wl,--start-group"] + ["-l:" + a for a in absl] + ["-Wl,--end-group"]),
    ))

mingw_toolchain = repository_rule(
    implementation = _mingw_toolchain_impl,
    local = True,
    # Looked at again when the libraries' cache may have moved.
    environ = ["HOME", "XDG_CACHE_HOME"],
)
