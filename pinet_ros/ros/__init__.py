"""ROS message conversion for pinet_ros (no torch).

`pinet_ros.ros.convert` turns sensor_msgs/Image and CameraInfo into numpy arrays and `Intrinsics`, and
`FrameResult` into the package's messages and RViz markers (one module per message family: fields,
image_codec, camera_input, pose_msgs, markers; convert re-exports them). Its decoders also accept duck-typed objects
with the same fields (e.g. rosbags-deserialised messages), and importing it imports no ROS module: the
message classes are imported only by the functions that build messages.
"""
