"""The Pod Security Standards' "restricted" profile (baseline included), field by field, as the
PodSecurity admission controller applies it to a pod spec: no cluster runs here, so the
deploy tests hold the manifests to these rules themselves.

Source of the rules: kubernetes.io/docs/concepts/security/pod-security-standards (policy
version `latest`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Restricted: the only volume types allowed.
RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
# Baseline: the only sysctls allowed.
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
APPARMOR_TYPES = {"RuntimeDefault", "Localhost"}
SECCOMP_TYPES = {"RuntimeDefault", "Localhost"}
# Workload kinds and where their pod spec lives.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def pod_specs(documents: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(`Kind/name`, pod spec) of every workload among `documents`."""
    for document in documents:
        path = POD_SPEC_PATHS.get(document.get("kind", ""))
        if path is None:
            continue
        spec: Any = document
        for key in path:
            spec = spec[key]
        yield f"{document['kind']}/{document['metadata']['name']}", spec


def containers_of(pod: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        yield from pod.get(field) or []


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """Every rule of the restricted profile that `pod` (a PodSpec) breaks; empty when admitted."""
    context: dict[str, Any] = pod.get("securityContext") or {}
    found = _pod_violations(pod, context)
    pod_non_root = context.get("runAsNonRoot") is True
    pod_seccomp = (context.get("seccompProfile") or {}).get("type") in SECCOMP_TYPES
    containers = list(containers_of(pod))
    if not containers:
        found.append("no containers")
    for container in containers:
        found += _container_violations(container, pod_non_root, pod_seccomp)
    return found


def _pod_violations(pod: dict[str, Any], context: dict[str, Any]) -> list[str]:
    """Baseline and restricted rules on the pod itself: host namespaces, volumes, sysctls."""
    found = [
        f"{field} is true" for field in ("hostNetwork", "hostPID", "hostIPC") if pod.get(field)
    ]
    for volume in pod.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            found.append(f"volume {volume['name']}: type {sorted(kinds)} is not allowed")
    for sysctl in context.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            found.append(f"sysctl {sysctl.get('name')} is not a safe sysctl")
    return found + _context_violations("pod", context)


def _container_violations(
    container: dict[str, Any], pod_non_root: bool, pod_seccomp: bool
) -> list[str]:
    """The rules on one container; the pod's runAsNonRoot and seccomp profile can satisfy
    the container's."""
    name = f"container {container.get('name')}"
    context: dict[str, Any] = container.get("securityContext") or {}
    found = _context_violations(name, context)
    found += [f"{name}: hostPort {p['hostPort']}" for p in container.get("ports") or []
              if p.get("hostPort")]  # fmt: skip
    if context.get("privileged"):
        found.append(f"{name}: privileged")
    if context.get("procMount", "Default") != "Default":
        found.append(f"{name}: procMount {context['procMount']}")
    if context.get("allowPrivilegeEscalation") is not False:
        found.append(f"{name}: allowPrivilegeEscalation is not false")
    non_root = context.get("runAsNonRoot")
    if non_root is False or (non_root is None and not pod_non_root):
        found.append(f"{name}: runAsNonRoot is not true (neither here nor on the pod)")
    if (context.get("seccompProfile") or {}).get("type") is None and not pod_seccomp:
        found.append(f"{name}: no seccompProfile RuntimeDefault/Localhost (nor on the pod)")
    capabilities = context.get("capabilities") or {}
    if "ALL" not in (capabilities.get("drop") or []):
        found.append(f"{name}: capabilities do not drop ALL")
    added = set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}
    if added:
        found.append(f"{name}: capabilities add {sorted(added)}")
    return found


def _context_violations(owner: str, context: dict[str, Any]) -> list[str]:
    """The rules a pod-level and a container-level securityContext share."""
    found: list[str] = []
    if (context.get("windowsOptions") or {}).get("hostProcess"):
        found.append(f"{owner}: windowsOptions.hostProcess")
    if context.get("runAsUser") == 0:
        found.append(f"{owner}: runAsUser is 0")
    seccomp = (context.get("seccompProfile") or {}).get("type")
    if seccomp is not None and seccomp not in SECCOMP_TYPES:
        found.append(f"{owner}: seccompProfile {seccomp}")
    apparmor = (context.get("appArmorProfile") or {}).get("type")
    if apparmor is not None and apparmor not in APPARMOR_TYPES:
        found.append(f"{owner}: appArmorProfile {apparmor}")
    selinux = context.get("seLinuxOptions") or {}
    if selinux.get("type", "") not in SELINUX_TYPES or selinux.get("user") or selinux.get("role"):
        found.append(f"{owner}: seLinuxOptions {selinux}")
    return found
