//! The cgroup path shapes systemd, docker, containerd, cri-o, podman and the kubelet make.

use super::path::*;

const ID: &str = "4f1c2e3d5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d";
const ID2: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const POD: &str = "1f0a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8";
const POD_SYSTEMD: &str = "1f0a2b3c_4d5e_6f70_8192_a3b4c5d6e7f8";

fn unit(path: &str) -> Option<String> {
    parse(path).unit
}

fn container(path: &str) -> Option<(Runtime, String)> {
    parse(path).container.map(|c| (c.runtime, c.id))
}

fn with(runtime: Runtime, id: &str) -> Option<(Runtime, String)> {
    Some((runtime, id.to_owned()))
}

#[test]
fn systemd_units_are_the_innermost_unit_component() {
    let cases = [
        ("/system.slice/nginx.service", "nginx.service"),
        (
            "/system.slice/system-getty.slice/getty@tty1.service",
            "getty@tty1.service",
        ),
        (
            "/user.slice/user-1000.slice/session-3.scope",
            "session-3.scope",
        ),
        (
            "/user.slice/user-1000.slice/user@1000.service/app.slice/dbus.service",
            "dbus.service",
        ),
        ("/system.slice", "system.slice"),
        ("/init.scope", "init.scope"),
        (
            r"/system.slice/system-systemd\x2dfsck.slice/systemd-fsck@dev-disk-by\x2duuid-AB12.service",
            r"systemd-fsck@dev-disk-by\x2duuid-AB12.service",
        ),
        ("/system.slice/home.mount", "home.mount"),
    ];
    for (path, want) in cases {
        assert_eq!(unit(path).as_deref(), Some(want), "{path}");
        let names = parse(path);
        assert_eq!((names.container, names.pod), (None, None), "{path}");
    }
}

#[test]
fn sub_cgroups_of_a_unit_belong_to_the_unit() {
    assert_eq!(
        unit("/system.slice/docker.service/some/sub").as_deref(),
        Some("docker.service")
    );
    assert_eq!(
        unit("/system.slice/foo.service/payload").as_deref(),
        Some("foo.service")
    );
}

#[test]
fn the_root_and_odd_paths_name_nothing() {
    for path in [
        "/",
        "",
        "//",
        "/payload",
        "/.service",
        "/we ird.service/x",
        "/nginx.servicex",
        "/é.service",
        "/service",
    ] {
        assert_eq!(parse(path), CgroupNames::default(), "{path:?}");
    }
    // A name systemd would not give a unit is skipped for the unit above it.
    assert_eq!(
        unit("/system.slice/we ird.service/").as_deref(),
        Some("system.slice")
    );
}

#[test]
fn docker_with_the_systemd_driver() {
    let path = format!("/system.slice/docker-{ID}.scope");
    let names = parse(&path);
    assert_eq!(container(&path), with(Runtime::Docker, ID));
    assert_eq!(names.unit, Some(format!("docker-{ID}.scope")));
    assert_eq!(names.pod, None);
}

#[test]
fn docker_with_the_cgroupfs_driver() {
    let path = format!("/docker/{ID}");
    assert_eq!(container(&path), with(Runtime::Docker, ID));
    assert_eq!(unit(&path), None);
    // Docker in docker: the innermost container is the process's.
    assert_eq!(
        container(&format!("/docker/{ID}/docker/{ID2}")),
        with(Runtime::Docker, ID2)
    );
    assert_eq!(
        container(&format!("/system.slice/docker-{ID}.scope/docker/{ID2}")),
        with(Runtime::Docker, ID2)
    );
}

#[test]
fn containerd_outside_kubernetes() {
    let path = format!("/system.slice/cri-containerd-{ID}.scope");
    assert_eq!(container(&path), with(Runtime::Containerd, ID));
    assert_eq!(unit(&path), Some(format!("cri-containerd-{ID}.scope")));
}

#[test]
fn kubernetes_with_the_systemd_driver() {
    let cases = [
        format!(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{POD_SYSTEMD}.slice/cri-containerd-{ID}.scope"
        ),
        format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{POD_SYSTEMD}.slice/cri-containerd-{ID}.scope"
        ),
        // Guaranteed QoS: the pod slice sits right in kubepods.slice.
        format!("/kubepods.slice/kubepods-pod{POD_SYSTEMD}.slice/cri-containerd-{ID}.scope"),
        // kind: a node is a docker container with the kubelet's tree inside it.
        format!(
            "/system.slice/docker-{ID2}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod{POD_SYSTEMD}.slice/cri-containerd-{ID}.scope"
        ),
    ];
    for path in &cases {
        let names = parse(path);
        assert_eq!(container(path), with(Runtime::Containerd, ID), "{path}");
        assert_eq!(names.pod.as_deref(), Some(POD), "{path}");
        assert_eq!(names.unit, Some(format!("cri-containerd-{ID}.scope")));
    }
    // The pod's own cgroup (its pause process, or a process in no container yet).
    let names = parse(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1f0a2b3c_4d5e_6f70_8192_a3b4c5d6e7f8.slice",
    );
    assert_eq!(
        names.pod.as_deref(),
        Some("1f0a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8")
    );
    assert_eq!(names.container, None);
    assert_eq!(
        names.unit.as_deref(),
        Some("kubepods-burstable-pod1f0a2b3c_4d5e_6f70_8192_a3b4c5d6e7f8.slice")
    );
}

#[test]
fn static_pods_have_bare_hex_uids() {
    let uid = "6a1e0d5c7b0b4c2f8f1d3e2a9b8c7d6e";
    let path = format!(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid}.slice/cri-containerd-{ID}.scope"
    );
    assert_eq!(parse(&path).pod.as_deref(), Some(uid));
}

#[test]
fn kubernetes_with_the_cgroupfs_driver() {
    for qos in ["/besteffort", "/burstable", ""] {
        let path = format!("/kubepods{qos}/pod{POD}/{ID}");
        let names = parse(&path);
        assert_eq!(container(&path), with(Runtime::Unknown, ID), "{path}");
        assert_eq!(names.pod.as_deref(), Some(POD), "{path}");
        assert_eq!(names.unit, None, "{path}");
    }
    // cri-o names its cgroupfs directories like its scopes.
    let path = format!("/kubepods/burstable/pod{POD}/crio-{ID}");
    assert_eq!(container(&path), with(Runtime::Crio, ID));
    // A pod directory counts only below kubepods.
    assert_eq!(parse(&format!("/somewhere/pod{POD}")).pod, None);
}

#[test]
fn cri_o_and_its_conmon() {
    let pod_slice = format!(
        "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{POD_SYSTEMD}.slice"
    );
    let path = format!("{pod_slice}/crio-{ID}.scope");
    assert_eq!(container(&path), with(Runtime::Crio, ID));
    assert_eq!(parse(&path).pod.as_deref(), Some(POD));

    let conmon = format!("{pod_slice}/crio-conmon-{ID}.scope");
    let names = parse(&conmon);
    assert_eq!(names.container, None);
    assert_eq!(names.unit, Some(format!("crio-conmon-{ID}.scope")));
    assert_eq!(names.pod.as_deref(), Some(POD));
}

#[test]
fn podman() {
    let cases = [
        format!("/machine.slice/libpod-{ID}.scope"),
        format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"),
        format!("/machine.slice/libpod-{ID}.scope/container"),
        format!("/libpod_parent/libpod-{ID}"),
    ];
    for path in &cases {
        assert_eq!(container(path), with(Runtime::Podman, ID), "{path}");
        assert_eq!(parse(path).pod, None, "{path}");
    }
    assert_eq!(unit(&cases[2]), Some(format!("libpod-{ID}.scope")));
    assert_eq!(unit(&cases[3]), None);

    let conmon = format!("/machine.slice/libpod-conmon-{ID}.scope");
    let names = parse(&conmon);
    assert_eq!(names.container, None);
    assert_eq!(names.unit, Some(format!("libpod-conmon-{ID}.scope")));
}

#[test]
fn container_ids_are_exactly_64_lowercase_hex() {
    let upper = ID.to_ascii_uppercase();
    let short = &ID[..63];
    let long = format!("{ID}0");
    let not_hex = format!("{}g", &ID[..63]);
    for id in [upper.as_str(), short, long.as_str(), not_hex.as_str()] {
        for path in [
            format!("/docker/{id}"),
            format!("/system.slice/docker-{id}.scope"),
            format!("/machine.slice/libpod-{id}.scope"),
        ] {
            assert_eq!(parse(&path).container, None, "{path}");
        }
    }
    // Names that only resemble a runtime's.
    for path in [
        format!("/system.slice/docker-{ID}.service"),
        format!("/system.slice/mydocker-{ID}.scope"),
        format!("/system.slice/docker{ID}.scope"),
    ] {
        assert_eq!(parse(&path).container, None, "{path}");
    }
}

#[test]
fn pod_uids_must_be_uids() {
    for slice in [
        "kubepods-besteffort-podnotauid.slice",
        "kubepods-besteffort-pod1f0a2b3c_4d5e_6f70_8192.slice",
        "kubepods-besteffort-pod1f0a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8x.slice",
        "notkube-besteffort-pod1f0a2b3c_4d5e_6f70_8192_a3b4c5d6e7f8.slice",
        "kubepods-besteffort-pod.slice",
        "kubepods.slice",
    ] {
        assert_eq!(
            parse(&format!("/kubepods.slice/{slice}")).pod,
            None,
            "{slice}"
        );
    }
}

#[test]
fn runtime_names() {
    let names = [
        Runtime::Docker,
        Runtime::Containerd,
        Runtime::Crio,
        Runtime::Podman,
        Runtime::Unknown,
    ]
    .map(Runtime::name);
    assert_eq!(
        names,
        ["docker", "containerd", "cri-o", "podman", "unknown"]
    );
    assert_eq!(Runtime::Crio.to_string(), "cri-o");
}

#[test]
fn id_prefixes_of_twelve_or_more_hex_digits_match() {
    assert!(id_matches(&ID[..12], ID));
    assert!(id_matches(&ID[..40], ID));
    assert!(id_matches(ID, ID));
    assert!(id_matches(&ID[..12].to_ascii_uppercase(), ID));
    assert!(id_matches(&ID.to_ascii_uppercase(), ID));
}

#[test]
fn other_prefixes_never_match() {
    assert!(!id_matches(&ID[..11], ID), "too short");
    assert!(!id_matches("", ID), "empty");
    assert!(!id_matches(&ID2[..12], ID), "different");
    assert!(!id_matches(&format!("{ID}0"), ID), "longer than the id");
    assert!(!id_matches(&format!("{}-", &ID[..12]), ID), "not hex");
    assert!(!id_matches("4f1c2e3d5a6bé", ID), "not ascii");
    assert!(
        !id_matches(&ID[..12], "4f1c2e3d5a6"),
        "id shorter than the prefix"
    );
}
