"""Run by the launcher as a child in a test: prints how many bytes of its anonymous memory (the heap and the
anonymous mappings it inherited) are offered to the kernel's same-page merging, how many there are, and whether
what it allocates from now on is offered too (`yes`, `no`, or `unknown` on a kernel that does not say)."""

from pathlib import Path

from services.supervisor.page_merging import _anonymous_writable

if __name__ == "__main__":
    anonymous = set(_anonymous_writable(Path("/proc/self/maps").read_text()))
    offered = total = 0
    start = None
    for line in Path("/proc/self/smaps").read_text().splitlines():
        first = line.split()[0]
        if "-" in first and not first.endswith(":"):
            low, high = (int(bound, 16) for bound in first.split("-"))
            start = (low, high) if (low, high) in anonymous else None
        elif first == "VmFlags:" and start is not None:
            total += start[1] - start[0]
            if " mg" in line:
                offered += start[1] - start[0]
    stat = Path("/proc/self/ksm_stat")
    later = "unknown"
    if stat.exists():
        for line in stat.read_text().splitlines():
            if line.startswith("ksm_merge_any:"):
                later = line.split(":", 1)[1].strip()
    print(offered, total, later)
