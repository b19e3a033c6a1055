"""Receives a terminal master over an AF_UNIX socket, as runc's recvtty does, for the tests.

Usage: console-receiver.py SOCKET OUTPUT. Listens on SOCKET, takes one descriptor sent with
SCM_RIGHTS, and copies everything read from it to OUTPUT until the terminal closes.
"""
import os
import socket
import sys

path, output = sys.argv[1], sys.argv[2]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(1)
print("listening", flush=True)
connection, _ = server.accept()
message, fds, _, _ = socket.recv_fds(connection, 4096, 1)
master = fds[0]
with open(output, "wb") as sink:
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO once the last slave descriptor closes
            break
        if not data:
            break
        sink.write(data)
        sink.flush()
