# Berth's exec trampoline for x86_64: a whole static ELF executable, header
# included, assembled to flat bytes by scripts/trampoline/build.sh and kept in
# Sources/CBerthLinux/trampoline_x86_64.inc.
#
# The container's first process (and every exec'd process) runs this from a
# sealed memfd just before its real command, so that while the kernel
# executes that command /proc/self/exe is the sealed trampoline, never the
# host's berth binary (CVE-2019-5736: a `#!/proc/self/exe` script would
# otherwise run, and could then open and rewrite, the engine's binary).
#
# Contract: argv[0] is the resolved path of the command, argv[1..] its argv;
# fd 3 is Berth's error pipe, inherited open. The trampoline marks fd 3
# close-on-exec and execve()s; if that fails it writes a
# struct berth_spawn_error {stage = BERTH_STAGE_EXEC (10), err = errno} on
# fd 3 and exits 127 (ENOENT) or 126. Started any other way (fd 3 not open,
# e.g. a script naming /proc/self/exe as its interpreter) it exits 126.
        .intel_syntax noprefix
        .set BASE, 0x400000
        .set STAGE_EXEC, 10
        .text
ehdr:
        .byte 0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0   # ELF, 64-bit, little-endian, version 1, System V
        .quad 0
        .short 2                        # ET_EXEC
        .short 62                       # EM_X86_64
        .long 1                         # EV_CURRENT
        .quad BASE + start - ehdr       # e_entry
        .quad phdr - ehdr               # e_phoff
        .quad 0                         # e_shoff: no sections
        .long 0                         # e_flags
        .short 64                       # e_ehsize
        .short 56                       # e_phentsize
        .short 1                        # e_phnum
        .short 0, 0, 0                  # e_shentsize, e_shnum, e_shstrndx
phdr:
        .long 1                         # PT_LOAD
        .long 5                         # PF_R | PF_X
        .quad 0                         # p_offset
        .quad BASE                      # p_vaddr
        .quad BASE                      # p_paddr
        .quad end - ehdr                # p_filesz
        .quad end - ehdr                # p_memsz
        .quad 0x1000                    # p_align
start:
        mov     edi, 3                  # fcntl(3, F_SETFD, FD_CLOEXEC)
        mov     esi, 2
        mov     edx, 1
        mov     eax, 72
        syscall
        test    rax, rax
        jnz     refuse                  # no fd 3: not started by Berth
        mov     rcx, [rsp]              # argc
        cmp     rcx, 2
        jb      refuse
        mov     rdi, [rsp + 8]          # path = argv[0]
        lea     rsi, [rsp + 16]         # argv + 1
        lea     rdx, [rsp + rcx * 8 + 16]   # envp = argv + argc + 1
        mov     eax, 59                 # execve
        syscall
        neg     eax                     # errno
        mov     r8d, eax
        sub     rsp, 256                # a zeroed struct berth_spawn_error
        mov     rdi, rsp
        xor     eax, eax
        mov     ecx, 31
        rep stosq
        mov     dword ptr [rsp], STAGE_EXEC
        mov     dword ptr [rsp + 4], r8d
        mov     edi, 3                  # write(3, &error, 248)
        mov     rsi, rsp
        mov     edx, 248
        mov     eax, 1
        syscall
        mov     edi, 126
        cmp     r8d, 2                  # ENOENT: 127, as a shell says
        jne     leave
        mov     edi, 127
        jmp     leave
refuse:
        mov     edi, 126
leave:
        mov     eax, 231                # exit_group
        syscall
end:
