"""--zookeeper-auth files: parsing, kazoo options, and the password kept out of repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cluster.connect import parse_zk_connect
from engine.cluster.location import ClusterLocation
from engine.cluster.zk_auth import ZkAuth, read_zk_auth
from engine.errors import NotFound, UsageError


def _file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "zk-auth.properties"
    path.write_text(text)
    return str(path)


def test_sasl_login_file(tmp_path: Path) -> None:
    auth = read_zk_auth(_file(tmp_path, "zookeeper.auth.mechanism=digest-md5\n"
                                        "zookeeper.auth.username=kafka\n"
                                        "zookeeper.auth.password=s3cr=t\\:x\n"))
    assert auth.mechanism == "DIGEST-MD5"
    assert auth.kazoo_options() == {"sasl_options": {
        "mechanism": "DIGEST-MD5", "username": "kafka", "password": "s3cr=t:x"}}
    assert "s3cr" not in repr(auth) and "s3cr" not in auth.describe()
    location = ClusterLocation(zookeeper=parse_zk_connect("127.0.0.1:2181/kafka"),
                               zk_auth=auth)
    assert "s3cr" not in repr(location)


def test_digest_acl_login() -> None:
    auth = ZkAuth("digest", "ops", "pw")
    assert auth.kazoo_options() == {"auth_data": [("digest", "ops:pw")]}


@pytest.mark.parametrize("text, message", [
    ("zookeeper.auth.username=kafka\n", "zookeeper.auth.password missing"),
    ("zookeeper.auth.mechanism=GSSAPI\nzookeeper.auth.username=k\n"
     "zookeeper.auth.password=p\n", "DIGEST-MD5 or digest"),
    ("zookeeper.auth.mechanism=digest\nzookeeper.auth.username=a:b\n"
     "zookeeper.auth.password=p\n", "cannot contain ':'"),
    ("zookeeper.auth.username=k\nzookeeper.auth.password=p\nzookeeper.auth.pasword=p\n",
     "unknown key(s) zookeeper.auth.pasword"),
])
def test_bad_files_are_usage_errors_without_the_password(tmp_path: Path, text: str,
                                                         message: str) -> None:
    with pytest.raises(UsageError) as err:
        read_zk_auth(_file(tmp_path, text))
    assert message in str(err.value)
    assert "=p" not in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="ZooKeeper auth file .* does not exist"):
        read_zk_auth(str(tmp_path / "nope"))
