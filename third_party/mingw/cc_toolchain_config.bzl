"""A C++ toolchain for Windows x86-64 on a Linux machine: mingw-w64's GCC
with posix threads, linking everything statically, so that the executables
run under Wine with no DLL beside them but the system's."""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")
load(
    "@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl",
    "artifact_name_pattern",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
)

_COMPILE_ACTIONS = [
    ACTION_NAMES.assemble,
    ACTION_NAMES.preprocess_assemble,
    ACTION_NAMES.c_compile,
    ACTION_NAMES.cpp_compile,
    ACTION_NAMES.cpp_header_parsing,
    ACTION_NAMES.cpp_module_compile,
]

_LINK_ACTIONS = [
    ACTION_NAMES.cpp_link_executable,
    ACTION_NAMES.cpp_link_dynamic_library,
    ACTION_NAMES.cpp_link_nodeps_dynamic_library,
]

def _flags(actions, flags, **kwargs):
    return flag_set(actions = actions, flag_groups = [flag_group(flags = flags)], **kwargs)

def _impl(ctx):
    prefix = ctx.attr.deps_prefix
    tools = {
        "ar": "x86_64-w64-mingw32-ar",
        "cpp": "x86_64-w64-mingw32-cpp-posix",
        # g++ for every action: it links the C++ runtime without being told.
        "gcc": "x86_64-w64-mingw32-g++-posix",
        "ld": "x86_64-w64-mingw32-ld",
        "nm": "x86_64-w64-mingw32-nm",
        "objcopy": "x86_64-w64-mingw32-objcopy",
        "objdump": "x86_64-w64-mingw32-objdump",
        "strip": "x86_64-w64-mingw32-strip",
        "gcov": "/bin/false",
        "dwp": "/bin/false",
    }
    features = [
        feature(
            name = "default_compile_flags",
            enabled = True,
            flag_sets = [
                _flags(_COMPILE_ACTIONS, [
                    "-isystem",
                    prefix + "/include",
                    # Windows 10 and later: PrefetchVirtualMemory (8),
                    # QueryWorkingSetEx, DiscardVirtualMemory.
                    "-D_WIN32_WINNT=0x0A00",
                    "-DWIN32_LEAN_AND_MEAN",
                    "-DNOMINMAX",
                    "-fno-omit-frame-pointer",
                ]),
            ],
        ),
        feature(
            name = "default_link_flags",
            enabled = True,
            flag_sets = [
                _flags(_LINK_ACTIONS, [
                    "-L" + prefix + "/lib",
                    "-static",
                    # Abseil's #pragma comment(lib) does nothing with GCC.
                    "-lpsapi",
                    "-ladvapi32",
                    "-ldbghelp",
                    "-lbcrypt",
                ]),
            ],
        ),
        feature(name = "dbg", flag_sets = [_flags(_COMPILE_ACTIONS, ["-g", "-O0"])]),
        feature(name = "fastbuild", flag_sets = [_flags(_COMPILE_ACTIONS, ["-O1"])]),
        feature(name = "opt", flag_sets = [_flags(_COMPILE_ACTIONS, ["-O2", "-DNDEBUG"])]),
        feature(name = "supports_start_end_lib", enabled = False),
    ]
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = features,
        toolchain_identifier = "mingw-w64-x86_64",
        host_system_name = "x86_64-linux-gnu",
        target_system_name = "x86_64-w64-mingw32",
        target_cpu = "x64_windows",
        target_libc = "msvcrt",
        compiler = "mingw-gcc",
        abi_version = "local",
        abi_libc_version = "local",
        tool_paths = [
            tool_path(name = name, path = path if path.startswith("/") else "/usr/bin/" + path)
            for name, path in tools.items()
        ],
        cxx_builtin_include_directories = [
            "/usr/lib/gcc/x86_64-w64-mingw32",
            "/usr/x86_64-w64-mingw32/include",
            "/usr/share/mingw-w64/include",
            prefix + "/include",
        ],
        artifact_name_patterns = [
            artifact_name_pattern(category_name = "executable", prefix = "", extension = ".exe"),
            artifact_name_pattern(category_name = "dynamic_library", prefix = "", extension = ".dll"),
            artifact_name_pattern(category_name = "static_library", prefix = "lib", extension = ".a"),
        ],
    )

mingw_cc_toolchain_config = rule(
    implementation = _impl,
    attrs = {
        # Where tools/mingw_deps.sh installed Abseil and GoogleTest.
        "deps_prefix": attr.string(mandatory = True),
    },
    provides = [CcToolchainConfigInfo],
)
