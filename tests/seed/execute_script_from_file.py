import json
import socket

# Connect to daemon
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect("/tmp/goxel.sock")

request = {
    "jsonrpc": "2.0",
    "method": "goxel.execute_script",
    "params": {
        "path": "/path/to/script.js",
        "timeout_ms": 60000  # 1 minute timeout
    },
    "id": 2
}

sock.sendall((json.dumps(request) + "\n").encode())
response = json.loads(sock.recv(4096).decode())
print(response)
