import json
import socket
import threading

def execute_script(script_id):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect("/tmp/goxel.sock")
    
    request = {
        "jsonrpc": "2.0",
        "method": "goxel.execute_script",
        "params": {
            "script": f"console.log('Script {script_id} running');"
        },
        "id": script_id
    }
    
    sock.sendall((json.dumps(request) + "\n").encode())
    response = json.loads(sock.recv(4096).decode())
    print(f"Script {script_id}: {response}")
    sock.close()

# Start 5 scripts concurrently
threads = []
for i in range(5):
    t = threading.Thread(target=execute_script, args=(i,))
    t.start()
    threads.append(t)

# Wait for all to complete
for t in threads:
    t.join()
