"""A shared object (a plugin) with mmapio inside it, for Linux.

Debian's Abseil archives are not position-independent, so the object is
built from mmapio's sources against the shared Abseil, and, as mmapio's
libraries are, with hidden visibility: it exports what its own sources
mark exported (MMAPIO_EXPORT, mmapio's public headers) and nothing else.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary")

def mmapio_shared_object(name, srcs, deps = [], **kwargs):
    cc_binary(
        name = name,
        srcs = srcs + ["//mmapio:sources"],
        copts = [
            "-fvisibility=hidden",
            "-fvisibility-inlines-hidden",
        ],
        linkshared = True,
        target_compatible_with = ["@platforms//os:linux"],
        deps = deps + [
            "@com_google_absl//:abseil_shared",
            "@liburing",
        ],
        **kwargs
    )
