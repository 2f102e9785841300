"""Seeded demo data: vendor records, file drops and ground truth (see README.md in this folder)."""

from devkit.demo.generator import build_world, generate

__all__ = ["build_world", "generate"]
