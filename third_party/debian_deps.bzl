"""Binds libraries installed from Debian packages under their upstream labels.

Each repository here has no sources: its targets carry the link flags of the
system library, and the headers come from /usr/include, which the compiler
searches already. A workspace that pulls the upstream repositories instead can
build mmapio unchanged, because the labels are the same.
"""

load("//third_party:mingw.bzl", "mingw_toolchain")

def _library_dirs(ctx):
    result = ctx.execute(["gcc", "-print-multiarch"])
    multiarch = result.stdout.strip() if result.return_code == 0 else ""
    dirs = ["/usr/lib/" + multiarch] if multiarch else []
    return dirs + ["/usr/lib", "/usr/local/lib"]

def _require(ctx, header, package):
    if not ctx.path("/usr/include/" + header).exists:
        fail("%s: /usr/include/%s is missing; install the Debian package %s " %
             (ctx.name, header, package) + "(tools/install_deps.sh does it)")

def _cc_library(name, linkopts, deps = []):
    return """cc_library(
    name = "{name}",
    linkopts = {linkopts},
    deps = {deps},
)
""".format(name = name, linkopts = repr(linkopts), deps = deps if type(deps) == "string" else repr(deps))

# The Windows build (--config=mingw) links the libraries tools/mingw_deps.sh
# builds, through @mingw_toolchain (third_party/mingw.bzl), which only that
# build fetches.
def _per_os(linux, windows):
    return """select({{
        "@mmapio//third_party/mingw:windows": {windows},
        "//conditions:default": {linux},
    }})""".format(linux = repr(linux), windows = repr(windows))

_PER_OS_ABSEIL = _per_os(["//:abseil"], ["@mingw_toolchain//:abseil"])

def _write_packages(ctx, packages):
    for package, content in packages.items():
        path = package + "/BUILD.bazel" if package else "BUILD.bazel"
        ctx.file(path, 'package(default_visibility = ["//visibility:public"])\n\n' + content)

# Every Abseil target we or our users name, as "package:name". A target whose
# name is the last package component is written "package".
_ABSL_TARGETS = [
    "absl/algorithm",
    "absl/algorithm:container",
    "absl/base",
    "absl/base:core_headers",
    "absl/base:log_severity",
    "absl/cleanup",
    "absl/container:btree",
    "absl/container:fixed_array",
    "absl/container:flat_hash_map",
    "absl/container:flat_hash_set",
    "absl/container:inlined_vector",
    "absl/container:node_hash_map",
    "absl/container:node_hash_set",
    "absl/debugging:failure_signal_handler",
    "absl/debugging:stacktrace",
    "absl/debugging:symbolize",
    "absl/flags:commandlineflag",
    "absl/flags:flag",
    "absl/flags:parse",
    "absl/flags:reflection",
    "absl/flags:usage",
    "absl/flags:usage_config",
    "absl/functional:any_invocable",
    "absl/functional:bind_front",
    "absl/functional:function_ref",
    "absl/hash",
    "absl/memory",
    "absl/numeric:bits",
    "absl/numeric:int128",
    "absl/random",
    "absl/random:distributions",
    "absl/status",
    "absl/status:statusor",
    "absl/strings",
    "absl/strings:cord",
    "absl/strings:str_format",
    "absl/synchronization",
    "absl/time",
    "absl/types:optional",
    "absl/types:span",
    "absl/types:variant",
    "absl/utility",
]

def _absl_impl(ctx):
    _require(ctx, "absl/base/config.h", "libabsl-dev")
    archives = {}
    shared = {}
    for d in _library_dirs(ctx):
        directory = ctx.path(d)
        if not directory.exists:
            continue
        for entry in directory.readdir():
            name = entry.basename
            if name.startswith("libabsl_") and name.endswith(".a"):
                archives[name] = True
            elif name.startswith("libabsl_") and name.endswith(".so"):
                shared[name[len("lib"):-len(".so")]] = True
    if not archives:
        fail("com_google_absl: no libabsl_*.a found; install libabsl-dev")

    # Static archives, as the upstream Bazel build links Abseil: a program
    # starts without loading dozens of shared objects. The group resolves
    # the archives' references to each other in any order.
    linkopts = (["-Wl,--start-group"] + ["-l:" + lib for lib in sorted(archives.keys())] +
                ["-Wl,--end-group"])

    # Debian's archives are not position-independent: a shared library that
    # contains mmapio links the shared Abseil instead, through this target.
    shared_linkopts = (["-Wl,--as-needed"] + ["-l" + lib for lib in sorted(shared.keys())] +
                       ["-Wl,--no-as-needed"])
    packages = {"": _cc_library("abseil", linkopts) +
                    _cc_library("abseil_shared", shared_linkopts)}
    for target in _ABSL_TARGETS:
        package, _, name = target.partition(":")
        if not name:
            name = package.split("/")[-1]
        packages[package] = packages.get(package, "") + _cc_library(name, [], _PER_OS_ABSEIL)
    _write_packages(ctx, packages)

debian_abseil = repository_rule(implementation = _absl_impl, local = True)

def _googletest_impl(ctx):
    _require(ctx, "gtest/gtest.h", "libgtest-dev")
    _require(ctx, "gmock/gmock.h", "libgmock-dev")
    _write_packages(ctx, {"": (
        _cc_library("gtest_linux", ["-lgmock", "-lgtest", "-pthread"]) +
        _cc_library("gtest_main_linux", ["-lgtest_main", "-lgmock", "-lgtest", "-pthread"]) +
        _cc_library("gtest", [], _per_os([":gtest_linux"], ["@mingw_toolchain//:gtest"])) +
        _cc_library("gtest_main", [], _per_os([":gtest_main_linux"], ["@mingw_toolchain//:gtest_main"])) +
        _cc_library("gmock", [], [":gtest"]) +
        _cc_library("gmock_main", [], [":gtest_main"])
    )})

debian_googletest = repository_rule(implementation = _googletest_impl, local = True)

def _benchmark_impl(ctx):
    _require(ctx, "benchmark/benchmark.h", "libbenchmark-dev")
    _write_packages(ctx, {"": (
        _cc_library("benchmark", ["-lbenchmark", "-pthread"]) +
        _cc_library("benchmark_main", ["-lbenchmark_main", "-lbenchmark", "-pthread"])
    )})

debian_benchmark = repository_rule(implementation = _benchmark_impl, local = True)

def _liburing_impl(ctx):
    _require(ctx, "liburing.h", "liburing-dev")
    _write_packages(ctx, {"": _cc_library("liburing", ["-luring"])})

debian_liburing = repository_rule(implementation = _liburing_impl, local = True)

def _rocksdb_impl(ctx):
    _require(ctx, "rocksdb/file_system.h", "librocksdb-dev")
    _write_packages(ctx, {"": _cc_library("rocksdb", ["-lrocksdb"])})

debian_rocksdb = repository_rule(implementation = _rocksdb_impl, local = True)

def debian_dependencies():
    """Declares the Debian-backed repositories that are not declared yet."""
    existing = native.existing_rules()
    if "com_google_absl" not in existing:
        debian_abseil(name = "com_google_absl")
    if "com_google_googletest" not in existing:
        debian_googletest(name = "com_google_googletest")
    if "com_google_benchmark" not in existing:
        debian_benchmark(name = "com_google_benchmark")
    if "liburing" not in existing:
        debian_liburing(name = "liburing")
    if "rocksdb" not in existing:
        debian_rocksdb(name = "rocksdb")
    if "mingw_toolchain" not in existing:
        mingw_toolchain(name = "mingw_toolchain")
