"""A Kubernetes Secret volume on disk, as the kubelet lays it out and rotates it, for tests of token files."""

import os

KEY = "api-token"


class SecretVolume:
    """A directory laid out as the kubelet writes a Secret volume: KEY -> ..data/KEY, ..data -> ..<version>/.
    ``rotate`` writes the new version beside the old one and swaps ``..data`` in one rename, as the kubelet does."""

    def __init__(self, root, token: str):
        self.root = root
        root.mkdir(exist_ok=True)
        self.version = 0
        self._write_version(token)
        os.symlink(f"..data/{KEY}", root / KEY)

    @property
    def path(self):
        return self.root / KEY

    def rotate(self, token: str, *, keep_mtime: bool = False) -> None:
        old = self.root / os.readlink(self.root / "..data")
        stat = os.stat(old / KEY)
        self._write_version(token)
        if keep_mtime:  # the new file looks the same to an mtime check: only its inode differs
            os.utime(self.path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        (old / KEY).unlink()
        old.rmdir()

    def _write_version(self, token: str) -> None:
        self.version += 1
        directory = self.root / f"..2026_12_01_v{self.version}"
        directory.mkdir()
        (directory / KEY).write_text(token)
        os.symlink(directory.name, self.root / "..data_tmp")
        os.replace(self.root / "..data_tmp", self.root / "..data")
