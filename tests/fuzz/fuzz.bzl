"""A fuzz target that is a regular test too.

Under the default configuration the target replays its corpus
(tests/fuzz/corpus/<name>/) through replay_main.cc, so `bazel test //...`
keeps every input that ever mattered passing. Under --config=fuzz it links
libFuzzer's own main instead; tools/fuzz.sh runs it for a bounded time.
"""

load("@rules_cc//cc:defs.bzl", "cc_test")

def mmapio_fuzz_test(name, srcs, deps = [], **kwargs):
    corpus = "corpus/" + name
    cc_test(
        name = name,
        size = "small",
        srcs = srcs,
        args = ["tests/fuzz/" + corpus],
        data = native.glob([corpus + "/**"]),
        linkopts = select({
            "//tests/fuzz:fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        deps = deps + [":fuzz_support"] + select({
            "//tests/fuzz:fuzzing": [],
            "//conditions:default": [":replay_main"],
        }),
        **kwargs
    )
