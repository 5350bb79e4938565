import json
import socket

# Connect to daemon
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect("/tmp/goxel.sock")

# JavaScript code to create a cube
script_code = """
// Create a 5x5x5 red cube at origin
for (var x = 0; x < 5; x++) {
    for (var y = 0; y < 5; y++) {
        for (var z = 0; z < 5; z++) {
            goxel.addVoxel(x, y, z, [255, 0, 0, 255]);
        }
    }
}
console.log("Created 5x5x5 red cube");
"""

# Send request
request = {
    "jsonrpc": "2.0",
    "method": "goxel.execute_script",
    "params": {
        "script": script_code,
        "name": "create_cube.js"
    },
    "id": 1
}

sock.sendall((json.dumps(request) + "\n").encode())
response = json.loads(sock.recv(4096).decode())
print(response)
